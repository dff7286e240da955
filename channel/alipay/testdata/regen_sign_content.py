# Rebuilds the sign strings from the parameter files (Alipay's rule, written
# independently of the Go code): non-empty values, keys sorted by byte value,
# k=v joined with &, raw values. Requests sign sign_type; notifications not.
import json, sys
def content(path, skip):
    p = json.load(open(path, encoding="utf-8"))
    pairs = sorted((k.encode(), v) for k, v in p.items() if v != "" and k not in skip)
    return "&".join(k.decode() + "=" + v for k, v in pairs)
for name, skip in (("request", {"sign"}), ("notify", {"sign", "sign_type"})):
    open(name + "_sign_content.txt", "w", encoding="utf-8", newline="").write(content(name + "_params.json", skip))
