package cashier

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/webhook"
	"github.com/polypay/polypay/wire"
)

// demo is the test-mode demo store: a product page whose Buy button
// creates an order and sends the buyer to the hosted cashier, a result
// page, and a webhook endpoint (served by polypay itself) that verifies
// each event's signature and remembers the latest ones.
type demo struct {
	c *Cashier

	mu     sync.Mutex
	app    *core.NewApp
	events map[string][]demoEvent // by order id
	order  []string               // order ids with events, oldest first (bounded)
}

type demoEvent struct {
	ID       string
	Type     string
	ChargeID string
	Channel  string
	Amount   int64
	At       string
}

const demoPrice = 990

// demoApp returns the demo app, creating it (with its sandbox channels and
// its webhook endpoint) on first use. It lives as long as the process.
func (d *demo) demoApp(r *http.Request) (*core.NewApp, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.app != nil {
		return d.app, nil
	}
	a, err := d.c.cfg.NewDemoApp(r.Context())
	if err != nil {
		return nil, err
	}
	ep := &polypay.WebhookEndpoint{ID: polypay.NewID("we_"), AppID: a.AppID, URL: d.c.cfg.Svc.BaseURL + "/demo/webhook"}
	if err := d.c.cfg.DB.Write(r.Context(), func(tx *store.Tx) error {
		ep.Created = tx.Now()
		return tx.InsertWebhookEndpoint(r.Context(), ep)
	}); err != nil {
		return nil, err
	}
	if err := d.brand(r.Context(), a); err != nil {
		return nil, err
	}
	d.app = a
	return a, nil
}

type demoView struct {
	T      map[string]string
	Lang   string
	Price  int64
	Order  *wire.Order
	Events []demoEvent
	Error  string
	// Phone picks the phone layout at any width; Accepts are the marks of
	// the brands the store takes.
	Phone   bool
	Accepts []string
}

func (d *demo) home(w http.ResponseWriter, r *http.Request) {
	l := lang(r)
	d.c.render(w, http.StatusOK, "demo.html", demoView{T: demoTexts[l], Lang: l, Price: demoPrice,
		Phone: ClientKind(r.UserAgent()) != ClientDesktop, Accepts: acceptedMarks()})
}

func (d *demo) buy(w http.ResponseWriter, r *http.Request) {
	a, err := d.demoApp(r)
	if err != nil {
		d.c.cfg.Log.Error("demo: creating the demo app", "err", err)
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	}
	tok := make([]byte, 12)
	polypay.RandomBase62(tok)
	no := "demo" + time.Now().Format("060102150405") + string(tok)
	who := core.Caller{App: &polypay.App{ID: a.AppID, Name: a.Name}}
	o, err := d.c.cfg.Svc.CreateOrder(r.Context(), who, core.OrderParams{AppID: a.AppID, MerchantOrderNo: no,
		Amount: demoPrice, Currency: "cny", Subject: "polypay T-shirt", Body: "Demo store: one T-shirt",
		ReturnURL: d.c.cfg.Svc.BaseURL + "/demo/result?no=" + no, Metadata: json.RawMessage(`{"shop":"demo"}`)})
	if err != nil {
		d.c.cfg.Log.Error("demo: creating the order", "err", err)
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, o.CashierURL, http.StatusSeeOther)
}

func (d *demo) result(w http.ResponseWriter, r *http.Request) {
	l := lang(r)
	v := demoView{T: demoTexts[l], Lang: l, Price: demoPrice, Phone: ClientKind(r.UserAgent()) != ClientDesktop}
	d.mu.Lock()
	a := d.app
	d.mu.Unlock()
	no := r.URL.Query().Get("no")
	var o *polypay.Order
	if a != nil {
		err := d.c.cfg.DB.Read(r.Context(), func(tx *store.Tx) (err error) {
			o, err = tx.OrderByMerchantNo(r.Context(), a.AppID, false, no)
			return err
		})
		if err != nil {
			d.c.cfg.Log.Error("demo: reading the order", "err", err)
		}
	}
	if o == nil {
		http.Error(w, "404 not found", http.StatusNotFound)
		return
	}
	out, err := d.c.cfg.Svc.GetOrder(r.Context(), core.Caller{App: &polypay.App{ID: a.AppID}}, o.ID)
	if err != nil {
		d.c.cfg.Log.Error("demo: reading the order", "err", err)
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	}
	v.Order = out
	d.mu.Lock()
	v.Events = append([]demoEvent(nil), d.events[o.ID]...)
	d.mu.Unlock()
	if len(v.Events) == 0 {
		w.Header().Set("Refresh", "2") // until the webhook arrives
	}
	d.c.render(w, http.StatusOK, "demo_result.html", v)
}

// webhook is the demo store's webhook endpoint: it accepts only events
// whose X-Pingplusplus-Signature verifies with its own app's test-mode
// public key, and that are test-mode events of its app (when the object
// names an app).
func (d *demo) webhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "too large", http.StatusRequestEntityTooLarge)
		return
	}
	d.mu.Lock()
	a := d.app
	d.mu.Unlock()
	if a == nil || d.c.cfg.WebhookPublicKeys == nil {
		http.Error(w, "no demo app", http.StatusNotFound)
		return
	}
	keys, err := d.c.cfg.WebhookPublicKeys(r.Context(), a.AppID, false)
	if err != nil {
		d.c.cfg.Log.Error("demo: webhook public key", "err", err)
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	}
	if err := webhook.Verify(body, r.Header.Get(webhook.SignatureHeader), keys...); err != nil {
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	var ev struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Created  int64  `json:"created"`
		Livemode bool   `json:"livemode"`
		Data     struct {
			Object struct {
				App      string            `json:"app"`
				ID       string            `json:"id"`
				Channel  string            `json:"channel"`
				Amount   int64             `json:"amount"`
				Metadata map[string]string `json:"metadata"`
			} `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	obj := ev.Data.Object
	if ev.Livemode || obj.App != "" && obj.App != a.AppID { // refunds carry no app
		http.Error(w, "not this store's event", http.StatusBadRequest)
		return
	}
	orderID := obj.Metadata["order_id"]
	d.mu.Lock()
	if _, seen := d.events[orderID]; !seen {
		d.order = append(d.order, orderID)
		if len(d.order) > 100 {
			delete(d.events, d.order[0])
			d.order = d.order[1:]
		}
	}
	d.events[orderID] = append(d.events[orderID], demoEvent{ID: ev.ID, Type: ev.Type, ChargeID: obj.ID,
		Channel: obj.Channel, Amount: obj.Amount, At: time.Unix(ev.Created, 0).Format("2006-01-02 15:04:05")})
	d.mu.Unlock()
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "ok")
}

var demoTexts = map[string]map[string]string{
	"zh": {"title": "polypay 演示商店", "intro": "这是测试模式的演示商店：下单后进入收银台，在模拟钱包中付款，然后看到结果页和商店收到的 Webhook。",
		"product": "polypay T 恤", "desc": "纯棉，印有 polypay 标志。", "buy": "立即购买", "test_mode": "测试模式",
		"result": "订单结果", "paid": "已支付（服务器已验证）", "unpaid": "未支付", "webhooks": "商店收到的 Webhook（签名已验证）",
		"none": "尚未收到 Webhook，页面会自动刷新…", "again": "再买一件", "accepts": "支持的支付方式", "event": "事件", "type": "类型", "charge": "Charge", "channel": "渠道", "at": "时间"},
	"en": {"title": "polypay Demo Store", "intro": "A test-mode demo store: buy, pay in the hosted cashier with the simulated wallet, then see the result and the webhook the store received.",
		"product": "polypay T-shirt", "desc": "Cotton, with the polypay logo.", "buy": "Buy now", "test_mode": "Test mode",
		"result": "Your order", "paid": "Paid (verified by the server)", "unpaid": "Not paid", "webhooks": "Webhooks the store received (signatures verified)",
		"none": "No webhook yet; this page refreshes itself…", "again": "Buy another", "accepts": "We accept", "event": "Event", "type": "Type", "charge": "Charge", "channel": "Channel", "at": "Time"},
}
