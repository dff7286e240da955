package risk

import "github.com/polypay/polypay/metrics"

// observe counts a decision; the rule label is a kind from a fixed set.
func observe(d Decision) {
	rule := d.Rule
	switch rule {
	case RuleAllowList, RuleBlockList, RuleCardTesting, RuleCardSpread:
	case "":
		rule = "none"
	default:
		rule = "merchant_rule"
	}
	metrics.RiskDecisions.WithLabelValues(rule, string(d.Action)).Inc()
}
