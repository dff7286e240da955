package paypal

// Typed bodies of the Orders v2 and Payments v2 calls, with the fields
// polypay sends or reads. plutov/paypal's own structs lack several of them
// (payment_source.paypal.experience_context, payments.authorizations and
// refunds on an order, custom_id and invoice_id on refunds), so the calls
// go through the SDK's NewRequest/SendWithAuth (its OAuth token cache and
// error decoding) with these.

type money struct {
	CurrencyCode string `json:"currency_code"`
	Value        string `json:"value"`
}

type payee struct {
	MerchantID   string `json:"merchant_id,omitempty"`
	EmailAddress string `json:"email_address,omitempty"`
}

type experienceContext struct {
	ReturnURL          string `json:"return_url,omitempty"`
	CancelURL          string `json:"cancel_url,omitempty"`
	UserAction         string `json:"user_action,omitempty"`
	ShippingPreference string `json:"shipping_preference,omitempty"`
}

type paymentSource struct {
	PayPal *struct {
		ExperienceContext *experienceContext `json:"experience_context,omitempty"`
	} `json:"paypal,omitempty"`
}

type purchaseUnitRequest struct {
	ReferenceID string `json:"reference_id"`
	CustomID    string `json:"custom_id"`
	InvoiceID   string `json:"invoice_id"`
	Description string `json:"description,omitempty"`
	Amount      money  `json:"amount"`
	Payee       *payee `json:"payee,omitempty"`
}

type createOrderRequest struct {
	Intent        string                `json:"intent"`
	PurchaseUnits []purchaseUnitRequest `json:"purchase_units"`
	PaymentSource *paymentSource        `json:"payment_source,omitempty"`
}

type link struct {
	Href   string `json:"href"`
	Rel    string `json:"rel"`
	Method string `json:"method,omitempty"`
}

type relatedIDs struct {
	OrderID         string `json:"order_id,omitempty"`
	AuthorizationID string `json:"authorization_id,omitempty"`
	CaptureID       string `json:"capture_id,omitempty"`
}

type supplementaryData struct {
	RelatedIDs relatedIDs `json:"related_ids"`
}

type statusDetails struct {
	Reason string `json:"reason,omitempty"`
}

type breakdown struct {
	GrossAmount *money `json:"gross_amount,omitempty"`
	PayPalFee   *money `json:"paypal_fee,omitempty"`
	NetAmount   *money `json:"net_amount,omitempty"`
}

// capture is a Payments v2 capture (on an order, from captures/{id}, or a
// PAYMENT.CAPTURE.* webhook resource).
type capture struct {
	ID                        string             `json:"id"`
	Status                    string             `json:"status"`
	StatusDetails             *statusDetails     `json:"status_details,omitempty"`
	Amount                    money              `json:"amount"`
	FinalCapture              bool               `json:"final_capture"`
	InvoiceID                 string             `json:"invoice_id,omitempty"`
	CustomID                  string             `json:"custom_id,omitempty"`
	SellerReceivableBreakdown *breakdown         `json:"seller_receivable_breakdown,omitempty"`
	SupplementaryData         *supplementaryData `json:"supplementary_data,omitempty"`
	Payee                     *payee             `json:"payee,omitempty"`
	CreateTime                string             `json:"create_time,omitempty"`
	UpdateTime                string             `json:"update_time,omitempty"`
	Links                     []link             `json:"links,omitempty"`
}

// authorization is a Payments v2 authorization.
type authorization struct {
	ID                string             `json:"id"`
	Status            string             `json:"status"`
	StatusDetails     *statusDetails     `json:"status_details,omitempty"`
	Amount            money              `json:"amount"`
	InvoiceID         string             `json:"invoice_id,omitempty"`
	CustomID          string             `json:"custom_id,omitempty"`
	ExpirationTime    string             `json:"expiration_time,omitempty"`
	SupplementaryData *supplementaryData `json:"supplementary_data,omitempty"`
	Payee             *payee             `json:"payee,omitempty"`
	CreateTime        string             `json:"create_time,omitempty"`
	Links             []link             `json:"links,omitempty"`
}

// refund is a Payments v2 refund.
type refund struct {
	ID            string         `json:"id"`
	Status        string         `json:"status"`
	StatusDetails *statusDetails `json:"status_details,omitempty"`
	Amount        money          `json:"amount"`
	InvoiceID     string         `json:"invoice_id,omitempty"`
	CustomID      string         `json:"custom_id,omitempty"`
	NoteToPayer   string         `json:"note_to_payer,omitempty"`
	Payer         *payee         `json:"payer,omitempty"`
	CreateTime    string         `json:"create_time,omitempty"`
	UpdateTime    string         `json:"update_time,omitempty"`
	Links         []link         `json:"links,omitempty"`
}

type payments struct {
	Authorizations []authorization `json:"authorizations,omitempty"`
	Captures       []capture       `json:"captures,omitempty"`
	Refunds        []refund        `json:"refunds,omitempty"`
}

type purchaseUnit struct {
	ReferenceID string    `json:"reference_id"`
	CustomID    string    `json:"custom_id,omitempty"`
	InvoiceID   string    `json:"invoice_id,omitempty"`
	Amount      money     `json:"amount"`
	Payee       *payee    `json:"payee,omitempty"`
	Payments    *payments `json:"payments,omitempty"`
}

type payer struct {
	PayerID      string `json:"payer_id,omitempty"`
	EmailAddress string `json:"email_address,omitempty"`
}

// order is an Orders v2 order with Prefer: return=representation.
type order struct {
	ID            string         `json:"id"`
	Intent        string         `json:"intent"`
	Status        string         `json:"status"`
	PurchaseUnits []purchaseUnit `json:"purchase_units"`
	Payer         *payer         `json:"payer,omitempty"`
	CreateTime    string         `json:"create_time,omitempty"`
	Links         []link         `json:"links,omitempty"`
}

type refundRequest struct {
	Amount      money  `json:"amount"`
	InvoiceID   string `json:"invoice_id"`
	CustomID    string `json:"custom_id,omitempty"`
	NoteToPayer string `json:"note_to_payer,omitempty"`
}

type captureAuthRequest struct {
	Amount       *money `json:"amount,omitempty"`
	InvoiceID    string `json:"invoice_id,omitempty"`
	FinalCapture bool   `json:"final_capture"`
}

type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// event is a webhook event; the resource is decoded by event type.
type event struct {
	ID           string `json:"id"`
	EventType    string `json:"event_type"`
	ResourceType string `json:"resource_type"`
	CreateTime   string `json:"create_time"`
}
