package console

// riskMessages are the risk pages' strings, kept apart from messages so
// that the risk pages can change without touching the shared table; init
// merges them and refuses a key both define.
var riskMessages = map[string][2]string{
	"risk":                 {"风控", "Risk"},
	"risk_overview":        {"风控概览", "Risk overview"},
	"risk_lists":           {"黑白名单", "Allow and block lists"},
	"risk_rules":           {"风控规则", "Risk rules"},
	"risk_review":          {"待审核", "Review queue"},
	"risk_hold_unsent":     {"未发往渠道，批准后发送", "not sent; approving sends it"},
	"risk_hold_authorized": {"已授权，批准即扣款", "authorized; approving captures"},
	"risk_last_24h":        {"最近 24 小时的决策", "Decisions in the last 24 hours"},
	"risk_act_block":       {"已拦截", "Blocked"},
	"risk_act_review":      {"转人工审核", "Held for review"},
	"risk_act_require_3ds": {"要求 3-D Secure", "3-D Secure required"},
	"risk_act_allow":       {"白名单或放行规则", "Allowed by list or rule"},
	"risk_blocks":          {"生效中的封禁", "Blocks in force"},
	"risk_value":           {"值", "Value"},
	"risk_rule":            {"规则", "Rule"},
	"risk_until":           {"截止", "Until"},
	"risk_unblock":         {"解除封禁", "Unblock"},
	"risk_top_ips":         {"拦截最多的 IP", "Top IPs by blocked decisions"},
	"risk_top_rules":       {"拦截最多的规则", "Top rules by blocked decisions"},
	"risk_count":           {"次数", "Count"},
	"risk_ips_from":        {"统计自最近 %d 条拦截决策。", "Counted over the newest %d blocked decisions."},
	"risk_list":            {"名单", "List"},
	"risk_list_allow":      {"白名单", "Allow"},
	"risk_list_block":      {"黑名单", "Block"},
	"risk_add_entry":       {"添加名单条目", "Add an entry"},
	"risk_hours":           {"%d 小时后", "in %d hours"},
	"risk_priority":        {"优先级", "Priority"},
	"risk_name":            {"名称", "Name"},
	"risk_condition":       {"条件 (CEL)", "Condition (CEL)"},
	"risk_condition_hint":  {"例如 amount >= 50000 && currency == \"usd\"；可用 velocity[\"ip_cards\"] 等计数。", "For example amount >= 50000 && currency == \"usd\"; counters as velocity[\"ip_cards\"]."},
	"risk_action":          {"动作", "Action"},
	"risk_enabled":         {"启用", "Enabled"},
	"risk_disabled":        {"已停用", "Disabled"},
	"risk_enable":          {"启用", "Enable"},
	"risk_disable":         {"停用", "Disable"},
	"risk_edit":            {"编辑", "Edit"},
	"risk_new_rule":        {"新建规则", "New rule"},
	"risk_edit_rule":       {"编辑规则", "Edit rule"},
	"risk_save":            {"保存", "Save"},
	"risk_cancel_edit":     {"取消编辑", "Cancel editing"},
	"risk_dry_run":         {"试运行", "Dry run"},
	"risk_dry_run_hint":    {"用最近 24 小时的订单检验条件，不保存。", "Tests the condition against the last 24 hours of charges without saving."},
	"risk_dry_result":      {"试运行结果", "Dry run result"},
	"risk_examined":        {"检查的订单", "Charges examined"},
	"risk_matched":         {"命中", "Matched"},
	"risk_eval_errors":     {"求值失败", "Evaluation errors"},
	"risk_sample":          {"命中示例", "Sample matches"},
	"risk_no_rules":        {"没有规则：只有内置规则生效。", "No rules: only the built-in rules apply."},
	"risk_approve":         {"通过（扣款）", "Approve (capture)"},
	"risk_reject":          {"拒绝（撤销）", "Reject (void)"},
	"risk_client_ip":       {"客户端 IP", "Client IP"},
	"risk_held_since":      {"开始审核", "Held since"},
	"risk_no_review":       {"没有待审核的订单。", "No charges are waiting for review."},
	"risk_other_mode":      {"切换到", "Switch to"},
	"ev_risk":              {"风控决策", "Risk decision"},
	"deleted":              {"已删除。", "Deleted."},
	"unblocked":            {"已解除封禁。", "Block lifted."},
	"review_approved":      {"已通过并扣款：", "Approved and captured: "},
	"review_rejected":      {"已拒绝并撤销：", "Rejected and voided: "},
	"risk_field_error":     {"字段 %s：", "Field %s: "},
}

func init() {
	for k, v := range riskMessages {
		if _, dup := messages[k]; dup {
			panic("console: message " + k + " defined twice")
		}
		messages[k] = v
	}
}
