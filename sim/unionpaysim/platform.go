package unionpaysim

import "unicode/utf8"

// Platform merchants (平台类商户, accessType 2): a merchant signs with its
// own certificate and takes payments for its sub-merchants, each request
// naming the sub-merchant (subMerId, subMerName, subMerAbbr). The trades
// are the sub-merchant's: queries, refunds and cancellations must name the
// same subMerId, and notifications carry it back. Statement files and
// payouts are the platform's own business (accessType 0); asked for with
// accessType 2 they are refused 32. A sub-merchant is registered with every
// platform until [Sim.RemoveSubMerchant] plays UnionPay ending the
// registration; requests for it then fail 31.

const (
	accessDirect   = "0" // 商户直连接入
	accessPlatform = "2" // 平台商户接入
)

// RemoveSubMerchant ends a sub-merchant's registration with a platform
// merchant: every request for it fails 31 from now on.
func (s *Sim) RemoveSubMerchant(merID, subMerID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removedSubs == nil {
		s.removedSubs = map[[2]string]bool{}
	}
	s.removedSubs[[2]string{merID, subMerID}] = true
}

// checkAccess checks the access type and, for a platform, its
// sub-merchant fields; a request's own checks follow.
func (s *Sim) checkAccess(v map[string]string) *apiError {
	switch v["accessType"] {
	case accessDirect:
		if v["subMerId"] != "" || v["subMerName"] != "" || v["subMerAbbr"] != "" {
			return fail("10", "subMerId 仅用于平台商户接入（accessType=2）")
		}
		return nil
	case accessPlatform:
	default:
		return fail("10", "accessType")
	}
	for _, k := range []string{"subMerId", "subMerName", "subMerAbbr"} {
		if v[k] == "" {
			return fail("13", k)
		}
	}
	sub := v["subMerId"]
	if len(sub) > 15 || !alnum(sub) || utf8.RuneCountInString(v["subMerName"]) > 40 || utf8.RuneCountInString(v["subMerAbbr"]) > 16 {
		return fail("10", "subMerId/subMerName/subMerAbbr")
	}
	if v["txnType"] == "76" || v["txnType"] == txnPayout {
		return fail("32", "平台商户接入不支持该交易")
	}
	s.mu.Lock()
	removed := sub == v["merId"] || s.removedSubs[[2]string{v["merId"], sub}]
	s.mu.Unlock()
	if removed {
		return fail("31", "二级商户未在该平台商户下登记")
	}
	return nil
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z') {
			return false
		}
	}
	return s != ""
}

// subMerFields are the sub-merchant fields a platform trade's answers and
// notifications carry.
func (t *trade) subMerFields(v map[string]string) {
	if t.subMer == nil {
		return
	}
	v["accessType"] = accessPlatform
	v["subMerId"], v["subMerName"], v["subMerAbbr"] = t.subMer[0], t.subMer[1], t.subMer[2]
}

// subMerOf is a platform request's sub-merchant, nil for direct access.
func subMerOf(v map[string]string) *[3]string {
	if v["accessType"] != accessPlatform {
		return nil
	}
	return &[3]string{v["subMerId"], v["subMerName"], v["subMerAbbr"]}
}

// sameSub tells whether a request names the trade's sub-merchant (or
// neither has one).
func (t *trade) sameSub(v map[string]string) bool {
	if t.subMer == nil {
		return v["accessType"] != accessPlatform
	}
	return v["accessType"] == accessPlatform && v["subMerId"] == t.subMer[0]
}

// SubMerchantOf returns the sub-merchant a platform's trade is for ("" for
// the merchant's own trades); false when there is no such trade.
func (s *Sim) SubMerchantOf(merID, orderID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.trades[key(merID, orderID)]
	if t == nil {
		return "", false
	}
	if t.subMer == nil {
		return "", true
	}
	return t.subMer[0], true
}
