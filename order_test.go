package polypay

import "testing"

// TestOrderCanBecome checks the whole order transition table: only a
// created order changes, and never back to created.
func TestOrderCanBecome(t *testing.T) {
	all := []OrderStatus{OrderCreated, OrderPaid, OrderCanceled}
	allowed := map[[2]OrderStatus]bool{
		{OrderCreated, OrderPaid}:     true,
		{OrderCreated, OrderCanceled}: true,
	}
	for _, from := range all {
		for _, to := range all {
			t.Run(string(from)+"_to_"+string(to), func(t *testing.T) {
				if got, want := from.CanBecome(to), allowed[[2]OrderStatus{from, to}]; got != want {
					t.Errorf("%s.CanBecome(%s): got %v, want %v", from, to, got, want)
				}
			})
		}
	}
}
