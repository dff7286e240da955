package wechatpay

// Internals the external tests exercise directly: the v2 parsers and
// signature, the transfer batch notification's payload.
var (
	ParseV2Answer     = parseV2Answer
	ParseBatchPayload = parseBatchPayload
	RedpackStatus     = redpackStatus
	DetailState       = detailState
	BatchState        = batchState
	FailReasonMsg     = failReasonMsg
)

// V2Sign signs fields given as key, value, key, value...
func V2Sign(key, signType string, kv ...string) string {
	var f []v2Field
	for i := 0; i+1 < len(kv); i += 2 {
		f = append(f, v2Field{kv[i], kv[i+1]})
	}
	return v2Sign(f, key, signType)
}
