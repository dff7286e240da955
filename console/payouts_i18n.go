package console

// payoutMessages are the payout pages' strings, kept apart from messages
// as the risk pages' are; init merges them and refuses a key defined twice.
var payoutMessages = map[string][2]string{
	"payouts":                 {"付款", "Payouts"},
	"payouts_intro":           {"企业付款、批量付款、红包与批量退款，按应用与模式查看；待审批的付款在“待审批”中批准或取消。", "Transfers, batch transfers, red envelopes and batch refunds per app and mode; payouts waiting for approval are approved or canceled under Approvals."},
	"payouts_transfers":       {"企业付款", "Transfers"},
	"payouts_batches":         {"批量付款", "Batch transfers"},
	"payouts_red_envelopes":   {"红包", "Red envelopes"},
	"payouts_batch_refunds":   {"批量退款", "Batch refunds"},
	"payouts_approvals":       {"待审批", "Approvals"},
	"payouts_waiting_live":    {"待审批（生产）", "Waiting (live)"},
	"payouts_waiting_test":    {"待审批（测试）", "Waiting (test)"},
	"payout_transfer":         {"付款", "Transfer"},
	"payout_batch":            {"批量付款", "Batch transfer"},
	"payout_batch_refund":     {"批量退款", "Batch refund"},
	"payout_recipient":        {"收款方", "Recipient"},
	"payout_recipient_name":   {"收款人姓名", "Recipient name"},
	"payout_recipients":       {"收款方明细", "Recipients"},
	"payout_batch_no":         {"批次号", "Batch number"},
	"payout_created_by":       {"发起方", "Created by"},
	"payout_approved_by":      {"审批人", "Approved by"},
	"payout_approved_at":      {"审批时间", "Approved at"},
	"payout_transferred_at":   {"到账时间", "Paid at"},
	"payout_succeeded_at":     {"完成时间", "Completed"},
	"payout_sent":             {"已发往渠道", "Sent to the channel"},
	"payout_yes":              {"是", "yes"},
	"payout_no":               {"否", "no"},
	"payout_failure":          {"失败原因", "Failure"},
	"payout_charges":          {"退款订单数", "Charges"},
	"payout_in_batch":         {"所属批次", "Batch"},
	"payout_approve":          {"批准并付款", "Approve and pay"},
	"payout_cancel":           {"取消付款", "Cancel"},
	"payout_own":              {"由你发起，须由其他人审批", "Created by you: someone else must approve it"},
	"payout_no_queue":         {"没有待审批的付款。", "No payouts are waiting for approval."},
	"payout_queue_transfers":  {"待审批的企业付款", "Transfers waiting for approval"},
	"payout_queue_batches":    {"待审批的批量付款", "Batch transfers waiting for approval"},
	"payout_queue_truncated":  {"只检查了最新的 1000 条记录，更早的待审批付款可能未列出。", "Only the newest 1,000 records were read: older payouts waiting for approval may be missing."},
	"payout_recent":           {"最近的审批", "Recent approvals"},
	"payout_kind_transfer":    {"企业付款", "transfer"},
	"payout_kind_batch":       {"批量付款", "batch"},
	"payout_settings":         {"付款审批设置", "Payout approval settings"},
	"payout_settings_hint":    {"超过此金额的企业付款须审批后才发送；留空或 0 表示不需审批。每个模式分别设置。", "Transfers above this amount wait for approval before they are sent; blank or 0 approves nothing. Each mode has its own settings."},
	"payout_approve_above":    {"审批金额（元）", "Approve above (CNY)"},
	"payout_approve_batches":  {"所有批量付款都须审批", "Every batch transfer waits for approval"},
	"payout_settings_current": {"当前", "Now"},
	"payout_settings_none":    {"不需审批", "no approval"},
	"payout_settings_updated": {"更新于", "updated"},
	"payout_member_count":     {"各状态笔数", "Transfers by status"},
	"payout_order_refund":     {"退款", "Refund"},
	"payout_received":         {"领取时间", "Received"},
	"payout_refunded":         {"退回时间", "Refunded"},
	"payout_subject":          {"活动名称", "Subject"},
	"payout_approved":         {"已批准并发送：", "Approved and sent: "},
	"payout_save":             {"保存", "Save"},
	"payout_other_mode":       {"切换到", "Switch to"},
	"payout_canceled":         {"已取消：", "Canceled: "},
	"ev_payout_created":       {"创建付款", "Payout created"},
	"ev_payout_approved":      {"审批通过", "Approved"},
	"ev_payout_paid":          {"付款成功", "Paid"},
	"ev_payout_failed":        {"付款失败", "Payout failed"},
	"ev_payout_canceled":      {"已取消", "Canceled"},
}

func init() {
	for k, v := range payoutMessages {
		if _, dup := messages[k]; dup {
			panic("console: message " + k + " defined twice")
		}
		messages[k] = v
	}
}
