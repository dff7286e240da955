package console

// accountMessages are the account pages' strings, kept apart from
// messages as the payout pages' are; init merges them and refuses a key
// defined twice.
var accountMessages = map[string][2]string{
	"acct_users":           {"账户用户", "Account users"},
	"acct_intro":           {"应用的账户系统用户及其余额（人民币），按模式查看；只读。", "The app's account-system users and their balances (CNY), per mode; read only."},
	"acct_user":            {"账户用户", "Account user"},
	"acct_name":            {"姓名", "Name"},
	"acct_type":            {"用户类型", "Type"},
	"acct_mobile":          {"手机号", "Mobile"},
	"acct_gender":          {"性别", "Gender"},
	"acct_address":         {"地址", "Address"},
	"acct_avatar":          {"头像", "Avatar"},
	"acct_metadata":        {"元数据", "Metadata"},
	"acct_balance":         {"可用余额", "Available balance"},
	"acct_withdrawable":    {"可提现余额", "Withdrawable balance"},
	"acct_disabled":        {"已禁用", "Disabled"},
	"acct_identified":      {"已实名", "Identified"},
	"acct_yes":             {"是", "yes"},
	"acct_no":              {"否", "no"},
	"acct_txns":            {"余额明细", "Balance transactions"},
	"acct_txn_type":        {"类型", "Type"},
	"acct_balance_after":   {"变动后余额", "Balance after"},
	"acct_source":          {"来源", "Source"},
	"acct_time":            {"时间", "Time"},
	"acct_recharges":       {"充值", "Recharges"},
	"acct_user_fee":        {"手续费", "User fee"},
	"acct_succeeded":       {"已到账", "Succeeded"},
	"acct_pending":         {"待支付", "pending"},
	"acct_bonus":           {"赠送", "Bonus"},
	"acct_bonuses":         {"赠送余额", "Balance bonuses"},
	"acct_transfers":       {"余额转账", "Balance transfers"},
	"acct_counterparty":    {"对方", "Counterparty"},
	"acct_sent_to":         {"转给", "Sent to"},
	"acct_received_from":   {"来自", "Received from"},
	"acct_recent":          {"只显示最近 20 条。", "Only the latest 20 are shown."},
	"acct_other_mode":      {"切换到", "Switch to"},
	"acct_back_to_users":   {"全部账户用户", "All account users"},
	"acct_no_users":        {"此模式下还没有用户。", "No users in this mode yet."},
	"acct_coupon_tmpls":    {"优惠券模板", "Coupon templates"},
	"acct_coupon_intro":    {"应用的优惠券模板及其发放、核销情况，按模式查看；只读。", "The app's coupon templates with how many were issued and redeemed, per mode; read only."},
	"acct_coupons":         {"优惠券", "Coupons"},
	"acct_coupon_off":      {"优惠", "Off"},
	"acct_coupon_min":      {"起用金额", "Minimum order"},
	"acct_circulated":      {"已发放", "Issued"},
	"acct_redeemed":        {"已核销", "Redeemed"},
	"acct_refundable":      {"退款退券", "Refundable"},
	"acct_valid":           {"可用", "Valid"},
	"acct_valid_until":     {"有效期至", "Valid until"},
	"acct_order":           {"订单", "Order"},
	"acct_no_coupons":      {"此模式下还没有优惠券模板。", "No coupon templates in this mode yet."},
	"acct_withdrawals":     {"提现", "Withdrawals"},
	"acct_wd_intro":        {"用户的提现申请：待确认的由财务或所有者确认（经付款引擎打款）或取消（金额退回余额）。", "Users' withdrawals: finance or an owner confirms one awaiting confirmation (paid out by the transfer engine) or cancels it (the amount goes back to the balance)."},
	"acct_wd_created":      {"待确认", "Awaiting confirmation"},
	"acct_wd_pending":      {"打款中", "Paying out"},
	"acct_wd_succeeded":    {"已到账", "Succeeded"},
	"acct_wd_failed":       {"失败", "Failed"},
	"acct_wd_canceled":     {"已取消", "Canceled"},
	"acct_wd_decide":       {"确认或取消", "Confirm or cancel"},
	"acct_wd_confirm":      {"确认打款", "Confirm"},
	"acct_wd_cancel":       {"取消", "Cancel"},
	"withdrawal_confirmed": {"已确认提现 ", "Withdrawal confirmed: "},
	"withdrawal_canceled":  {"已取消提现 ", "Withdrawal canceled: "},
}

func init() {
	for k, v := range accountMessages {
		if _, dup := messages[k]; dup {
			panic("console: message " + k + " defined twice")
		}
		messages[k] = v
	}
}
