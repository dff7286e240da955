package wechatpay_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/wechatpay"
)

// TestTransferBatchNotification: a single transfer's batch notification
// is read as that payout's outcome (queried); others are refused.
func TestTransferBatchNotification(t *testing.T) {
	e := newEnv(t)
	conn := e.conns[wechatpay.ChannelPub]
	tr := transferTo(payeeOK.OpenID, 1000, `{}`)
	pay(t, conn, tr)
	no := tr.PayoutNo()
	parse := func(event, payload string) (*polypay.Notification, error) {
		body := notificationBody(event, "mch_payment", []byte(payload))
		h := http.Header{}
		signHeaders(h, platformKey, keyID, time.Now().Unix(), body)
		return conn.ParseNotification(context.Background(), polypay.NewNotifyRequest(notifyRequest(body, h), body))
	}
	n, err := parse("MCHTRANSFER.BATCH.FINISHED", `{"mchid":"`+mchID+`","out_batch_no":"`+no+`","batch_status":"FINISHED","total_num":1,"total_amount":1000}`)
	if err != nil || n.Kind != polypay.NotifyPayout || n.PayoutNo != no || n.MerchantID != mchID || n.Payout == nil ||
		n.Payout.State != polypay.PayoutPaid || n.Payout.Amount != 1000 || n.Payout.TransactionNo == "" {
		t.Fatalf("ParseNotification = %+v, %v; want payout %s paid", n, err, no)
	}
	cases := []struct {
		name, event, payload, code string
	}{
		{"ErrBatchOfTwo", "MCHTRANSFER.BATCH.FINISHED", `{"mchid":"` + mchID + `","out_batch_no":"` + no + `","batch_status":"FINISHED","total_num":2}`, polypay.ENotSupported},
		{"ErrUnknownBatch", "MCHTRANSFER.BATCH.CLOSED", `{"mchid":"` + mchID + `","out_batch_no":"unknown000001","batch_status":"CLOSED","total_num":1}`, polypay.EInvalid},
		{"ErrStatus", "MCHTRANSFER.BATCH.FINISHED", `{"mchid":"` + mchID + `","out_batch_no":"` + no + `","batch_status":"PROCESSING","total_num":1}`, polypay.ENotSupported},
		{"ErrBatchNo", "MCHTRANSFER.BATCH.FINISHED", `{"mchid":"` + mchID + `","out_batch_no":"../x","batch_status":"FINISHED","total_num":1}`, polypay.EInvalid},
		{"ErrNoMerchant", "MCHTRANSFER.BATCH.FINISHED", `{"out_batch_no":"` + no + `","batch_status":"FINISHED","total_num":1}`, polypay.EInvalid},
		{"ErrNotJSON", "MCHTRANSFER.BATCH.FINISHED", `[`, polypay.EInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := parse(tc.event, tc.payload)
			if n != nil || polypay.ErrorCode(err) != tc.code {
				t.Fatalf("ParseNotification = %+v, %v; want %s", n, err, tc.code)
			}
		})
	}
}
