package polypay

// OrderStatus is the status of a cashier order (Ping++'s order object).
type OrderStatus string

const (
	OrderCreated  OrderStatus = "created"  // waiting for the customer to pay in the cashier
	OrderPaid     OrderStatus = "paid"     // one of its charges was paid
	OrderCanceled OrderStatus = "canceled" // closed unpaid
)

// CanBecome is the order transition table. Only an order still waiting
// can change: a paid order stays paid (its charge's refunds do not reopen
// it), and a canceled one is never paid, so no second charge can pay it.
func (s OrderStatus) CanBecome(to OrderStatus) bool {
	return s == OrderCreated && (to == OrderPaid || to == OrderCanceled)
}

// Order is a merchant's order paid through the cashier: the customer
// chooses a channel there, and each choice makes a charge of the order.
type Order struct {
	ID              string
	AppID           string
	Livemode        bool
	MerchantOrderNo string
	Amount          int64
	Currency        string
	Subject         string
	Body            string
	Description     string
	Channels        []byte // JSON array of allowed channel names
	ReturnURL       string
	Metadata        []byte // JSON object
	Status          OrderStatus
	Created         int64
	TimePaid        int64
	TimeExpire      int64
	ChargeID        string // the charge that paid it, else the latest one
	CashierToken    string
	ParamsHash      string
	// CouponAmount is the discount of the charge that paid the order, else
	// of its latest charge (Ping++'s coupon_amount); DiscountID its rule.
	CouponAmount int64
	DiscountID   string
	// UID is Ping++'s order uid: the merchant's id of the customer ("" for
	// none). First-payment discounts look at a uid's paid orders.
	UID string
	// Coupon is the user's coupon the order redeems (Ping++'s coupon): its
	// discount is CouponAmount, fixed when the order is created.
	Coupon   string
	ClientIP string
	// Refunded: the order was refunded in full (order.refunded was sent).
	Refunded bool
}

// Discount types.
const (
	DiscountAmountOff  = "amount_off"
	DiscountPercentOff = "percent_off"
)

// Discount is a merchant-funded cashier discount rule of one app and mode.
type Discount struct {
	ID         string
	AppID      string
	Livemode   bool
	Channel    string // a channel family ("alipay", "wx") or one channel name
	Type       string // DiscountAmountOff or DiscountPercentOff
	AmountOff  int64  // fen, for amount_off
	PercentOff int64  // 1-99, for percent_off
	MinAmount  int64  // fen: the rule applies to orders of at least this amount
	Label      []byte // JSON: a string or {"zh": ..., "en": ...}
	Created    int64
	Deleted    int64
	// FirstPaymentOnly: the rule applies only to an order with a uid that
	// has no paid order yet in the app and mode on the rule's family.
	FirstPaymentOnly bool
}
