package console

import (
	"net/http"
	"strconv"
	"strings"
)

// Languages: Chinese and English. A toggle sets the polypay_lang cookie;
// without it Accept-Language decides.
const (
	langZH = "zh"
	langEN = "en"
)

const langCookie = "polypay_lang"

// pickLang chooses the page language.
func pickLang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == langZH || l == langEN {
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == langZH || c.Value == langEN) {
		return c.Value
	}
	return acceptLanguage(r.Header.Get("Accept-Language"))
}

// acceptLanguage returns zh when Chinese is preferred over English (by
// q-value, then order), else en.
func acceptLanguage(h string) string {
	best, bestQ := langEN, -1.0
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		tag = strings.ToLower(tag)
		var l string
		switch {
		case tag == "zh" || strings.HasPrefix(tag, "zh-"):
			l = langZH
		case tag == "en" || strings.HasPrefix(tag, "en-"):
			l = langEN
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

// messages holds every console string: key -> {zh, en}.
var messages = map[string][2]string{
	"title":               {"polypay 商户控制台", "polypay merchant console"},
	"skip":                {"跳到正文", "Skip to content"},
	"nav":                 {"主导航", "Main navigation"},
	"overview":            {"概览", "Overview"},
	"apps":                {"应用", "Apps"},
	"charges":             {"支付", "Charges"},
	"refunds":             {"退款", "Refunds"},
	"recon":               {"对账", "Reconciliation"},
	"reports":             {"日报", "Daily report"},
	"signin":              {"登录", "Sign in"},
	"signout":             {"退出", "Sign out"},
	"email":               {"邮箱", "Email"},
	"password":            {"密码", "Password"},
	"signin_failed":       {"邮箱或密码错误。", "Wrong email or password."},
	"signin_throttled":    {"尝试次数过多，请稍后再试。", "Too many attempts; try again later."},
	"signed_in_as":        {"当前用户", "Signed in as"},
	"role":                {"角色", "Role"},
	"language":            {"语言", "Language"},
	"name":                {"名称", "Name"},
	"created":             {"创建时间", "Created"},
	"create_app":          {"创建应用", "Create app"},
	"app_created":         {"应用已创建。以下密钥只显示这一次，请妥善保存。", "App created. The keys below are shown only this once: store them safely."},
	"keys":                {"密钥", "Keys"},
	"keys_note":           {"密钥只保存摘要，这里只显示前缀与指纹。", "Only key digests are stored: shown here as prefix and fingerprint."},
	"kind":                {"类型", "Kind"},
	"mode":                {"模式", "Mode"},
	"all":                 {"全部", "All"},
	"test":                {"测试", "Test"},
	"live":                {"生产", "Live"},
	"fingerprint":         {"指纹", "Fingerprint"},
	"credentials":         {"渠道参数", "Channel credentials"},
	"not_set":             {"未设置", "Not set"},
	"set_credentials":     {"设置渠道参数", "Set channel credentials"},
	"channel_family":      {"渠道", "Channel"},
	"params_json":         {"参数（JSON）", "Parameters (JSON)"},
	"cred_fields":         {"参数说明", "Credential fields"},
	"field":               {"字段", "Field"},
	"field_hint":          {"说明", "Description"},
	"required":            {"必填", "required"},
	"secret":              {"保密，只显示指纹", "secret, shown as a fingerprint"},
	"saved":               {"已保存。", "Saved."},
	"webhooks":            {"Webhooks", "Webhooks"},
	"endpoint":            {"地址", "Endpoint"},
	"deliveries":          {"推送记录", "Delivery log"},
	"resend":              {"重新推送", "Resend"},
	"resent":              {"已重新加入推送队列。", "Queued for delivery again."},
	"attempts":            {"尝试", "Attempts"},
	"event":               {"事件", "Event"},
	"status":              {"状态", "Status"},
	"search":              {"搜索", "Search"},
	"order_no":            {"订单号", "Order number"},
	"charge_id":           {"Charge ID", "Charge ID"},
	"refund_id":           {"退款 ID", "Refund ID"},
	"id":                  {"ID", "ID"},
	"channel":             {"渠道", "Channel"},
	"amount":              {"金额", "Amount"},
	"amount_min":          {"最小金额（元）", "Min amount"},
	"amount_max":          {"最大金额（元）", "Max amount"},
	"date_from":           {"开始日期", "From"},
	"date_to":             {"结束日期（含）", "To (inclusive)"},
	"export_csv":          {"导出 CSV", "Export CSV"},
	"next_page":           {"下一页", "Next page"},
	"first_page":          {"第一页", "First page"},
	"no_results":          {"没有结果。", "No results."},
	"app":                 {"应用", "App"},
	"charge":              {"支付", "Charge"},
	"timeline":            {"时间线", "Timeline"},
	"details":             {"详情", "Details"},
	"paid_at":             {"支付时间", "Paid"},
	"transaction_no":      {"渠道流水号", "Channel transaction"},
	"refunded":            {"已退款", "Refunded"},
	"refund":              {"退款", "Refund"},
	"refund_amount":       {"退款金额（元，留空为全部可退金额）", "Refund amount (blank: all that remains)"},
	"description":         {"说明", "Description"},
	"refund_done":         {"退款已提交：", "Refund submitted: "},
	"ev_created":          {"创建支付", "Charge created"},
	"ev_paid":             {"支付成功", "Paid"},
	"ev_authorized":       {"预授权成功", "Authorized"},
	"ev_notification":     {"渠道通知", "Channel notification"},
	"ev_event":            {"事件", "Event"},
	"ev_webhook":          {"Webhook 推送", "Webhook attempt"},
	"ev_refund":           {"退款", "Refund"},
	"ev_refund_done":      {"退款完成", "Refund completed"},
	"ev_request":          {"请求渠道", "Request to the channel"},
	"ev_failed":           {"支付失败", "Payment failed"},
	"outcome":             {"结果", "Outcome"},
	"charts":              {"各渠道每日交易", "Daily volume per channel"},
	"volume":              {"成交金额", "Paid volume"},
	"success_rate":        {"成功率", "Success rate"},
	"days":                {"天数", "Days"},
	"runs":                {"对账批次", "Reconciliation runs"},
	"day":                 {"日期", "Day"},
	"matched":             {"一致", "Matched"},
	"discrepancies":       {"差异", "Discrepancies"},
	"open":                {"未处理", "Open"},
	"open_discrepancies":  {"未处理差异", "Open discrepancies"},
	"kind_diff":           {"差异类型", "Kind"},
	"ours":                {"本系统", "polypay"},
	"theirs":              {"渠道", "Channel"},
	"note":                {"备注", "Note"},
	"resolve":             {"标记已处理", "Resolve"},
	"resolved":            {"差异已处理。", "Discrepancy resolved."},
	"resolved_list":       {"已处理差异", "Resolved discrepancies"},
	"resolved_by":         {"处理人", "Resolved by"},
	"recon_off":           {"对账引擎尚未接入。", "The reconciliation engine is not connected."},
	"gross":               {"交易总额", "Gross"},
	"fees":                {"手续费", "Fees"},
	"net":                 {"净额", "Net"},
	"count":               {"笔数", "Count"},
	"currency":            {"币种", "Currency"},
	"show":                {"查看", "Show"},
	"forbidden":           {"你的角色不能执行此操作。", "Your role may not do this."},
	"not_found":           {"未找到。", "Not found."},
	"bad_request":         {"请求无效：", "Invalid request: "},
	"session_expired":     {"会话已过期，请重新登录。", "Your session expired; please sign in again."},
	"csrf_failed":         {"表单已失效，请刷新页面后重试。", "The form expired; reload the page and try again."},
	"error":               {"出错了", "Something went wrong"},
	"back":                {"返回", "Back"},
	"only_in_polypay":     {"仅本系统有", "Only in polypay"},
	"only_in_channel":     {"仅渠道有", "Only in the channel"},
	"amount_differs":      {"金额不一致", "Amount differs"},
	"status_differs":      {"状态不一致", "Status differs"},
	"legend":              {"图例", "Legend"},
	"run_error":           {"错误", "Error"},
	"none":                {"无", "None"},
	"users":               {"用户", "Users"},
	"invite":              {"邀请用户", "Invite a user"},
	"invite_apps":         {"限定应用（不选则为全部应用）", "Limit to apps (none ticked: every app)"},
	"all_apps":            {"全部应用", "All apps"},
	"one_time_password":   {"一次性密码（只显示这一次，请通过安全渠道交给用户；用户登录后即可使用）：", "One-time password (shown only this once; hand it over through a safe channel):"},
	"change_role":         {"修改角色", "Change role"},
	"disable":             {"停用", "Disable"},
	"enable":              {"启用", "Enable"},
	"disabled":            {"已停用", "Disabled"},
	"active":              {"正常", "Active"},
	"reset_password":      {"重置密码", "Reset password"},
	"user_self":           {"不能在这里修改自己的账户。", "You cannot change your own account here."},
	"roll_keys":           {"轮换 API 密钥", "Roll API keys"},
	"overlap":             {"旧密钥继续有效", "Old key keeps working for"},
	"hours":               {"小时", "hours"},
	"expires":             {"到期", "Expires"},
	"never":               {"永不", "never"},
	"new_keys":            {"新密钥只显示这一次，请妥善保存：", "The new keys are shown only this once; store them safely:"},
	"rotate_webhook_key":  {"轮换 Webhook 签名密钥", "Rotate the webhook signing key"},
	"webhook_key_rotated": {"新的 Webhook 公钥（接收方现在就应信任它）：", "New webhook public key (receivers should trust it now):"},
	"switch_at":           {"切换时间", "Switches at"},
	"add_endpoint":        {"添加 Webhook 地址", "Add a webhook endpoint"},
	"remove":              {"删除", "Remove"},
	"send_test":           {"发送测试事件", "Send a test event"},
	"test_sent":           {"测试事件已加入推送队列：", "Test event queued: "},
	"sandbox_note":        {"测试模式始终使用内置模拟器；点击下面的按钮会重置为模拟器参数。", "Test mode always uses the built-in simulator; the button below resets it to the simulator's credentials."},
	"use_sandbox":         {"使用模拟器", "Use the simulator"},
	"secret_blank":        {"保密字段不会显示；留空表示不修改。", "Secret fields are never shown; leave one blank to keep it unchanged."},
	"live_credentials":    {"生产参数", "Live credentials"},
	"partially_refunded":  {"部分退款", "partially refunded"},
	"fully_refunded":      {"已全额退款", "refunded"},
	"today":               {"今天", "Today"},
	"period":              {"时段", "Period"},
	"last_days":           {"最近 %s 天", "Last %s days"},
	"total":               {"合计", "total"},
	"paid_count":          {"成功笔数", "Paid charges"},
	"created_count":       {"创建笔数", "Created"},
	"per_channel":         {"各渠道", "Per channel"},
	"axis_date":           {"日期", "Date"},
	"axis_hour":           {"小时", "Hour"},
	"paid_of_created":     {"成功 / 创建", "paid / created"},
	"times_in":            {"时间均为", "Times are in"},
	"report_latest":       {"默认显示最近有交易的一天。", "Opens on the latest day with payments."},
}

// T translates a message key; an unknown key shows itself so that a
// missing translation is visible rather than blank.
func T(lang, key string) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if lang == langZH {
		return m[0]
	}
	return m[1]
}
