# Rebuilds the golden outputs from the inputs, independently of the Go code:
#   sign_*.json -> sign_*_message.txt (METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n)
#   notify_resource_plain.json + notify_resource.json inputs -> ciphertext
# Signatures are then made with openssl (see README.md). Needs the Python
# "cryptography" package for AES-256-GCM (openssl's CLI cannot do GCM).
import base64, json
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
for name in ("sign_post", "sign_get"):
    r = json.load(open(name + ".json", encoding="utf-8"))
    msg = "%s\n%s\n%s\n%s\n%s\n" % (r["method"], r["canonical_url"], r["timestamp"], r["nonce"], r["body"])
    open(name + "_message.txt", "w", encoding="utf-8", newline="").write(msg)
res = json.load(open("notify_resource.json", encoding="utf-8"))
plain = open("notify_resource_plain.json", "rb").read()
ct = AESGCM(res["apiv3_key"].encode()).encrypt(res["nonce"].encode(), plain, res["associated_data"].encode())
res["ciphertext"] = base64.b64encode(ct).decode()
with open("notify_resource.json", "w", encoding="utf-8", newline="\n") as f:
    json.dump(res, f, ensure_ascii=False, indent=2)
    f.write("\n")
