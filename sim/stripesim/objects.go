package stripesim

import (
	"fmt"
	"strconv"
)

// The JSON shapes below are Stripe's (API version 2026-03-25.dahlia),
// reduced to the fields the connector and stripe-go read, with nulls where
// Stripe sends null.

type wallet struct {
	Type     string    `json:"type"`
	ApplePay *struct{} `json:"apple_pay,omitempty"`
}

type cardChecks struct {
	AddressLine1Check      *string `json:"address_line1_check"`
	AddressPostalCodeCheck *string `json:"address_postal_code_check"`
	CVCCheck               *string `json:"cvc_check"`
}

type pmCard struct {
	Brand    string     `json:"brand"`
	Checks   cardChecks `json:"checks"`
	Country  string     `json:"country"`
	ExpMonth int64      `json:"exp_month"`
	ExpYear  int64      `json:"exp_year"`
	Funding  string     `json:"funding"`
	Last4    string     `json:"last4"`
	Wallet   *wallet    `json:"wallet"`
}

type paymentMethod struct {
	ID       string            `json:"id"`
	Object   string            `json:"object"`
	Type     string            `json:"type"`
	Card     pmCard            `json:"card"`
	Created  int64             `json:"created"`
	Customer *string           `json:"customer"`
	Livemode bool              `json:"livemode"`
	Metadata map[string]string `json:"metadata"`

	number string // the PAN, never rendered
	// offSession: set up (a succeeded SetupIntent with usage
	// off_session) for payments without the cardholder.
	offSession bool
	// declineOffSession is the decline code the issuer answers
	// off-session payments with (DeclineOffSession); "" authorizes.
	declineOffSession string
}

type tokenCard struct {
	ID                 string `json:"id"`
	Object             string `json:"object"`
	Brand              string `json:"brand"`
	Country            string `json:"country"`
	ExpMonth           int64  `json:"exp_month"`
	ExpYear            int64  `json:"exp_year"`
	Funding            string `json:"funding"`
	Last4              string `json:"last4"`
	TokenizationMethod string `json:"tokenization_method"`
}

type token struct {
	ID       string    `json:"id"`
	Object   string    `json:"object"`
	Card     tokenCard `json:"card"`
	ClientIP *string   `json:"client_ip"`
	Created  int64     `json:"created"`
	Livemode bool      `json:"livemode"`
	Type     string    `json:"type"`
	Used     bool      `json:"used"`
}

type redirectToURL struct {
	ReturnURL *string `json:"return_url"`
	URL       string  `json:"url"`
}

type nextAction struct {
	Type          string         `json:"type"`
	RedirectToURL *redirectToURL `json:"redirect_to_url,omitempty"`
}

type paymentIntent struct {
	ID                   string            `json:"id"`
	Object               string            `json:"object"`
	Amount               int64             `json:"amount"`
	AmountCapturable     int64             `json:"amount_capturable"`
	AmountReceived       int64             `json:"amount_received"`
	CanceledAt           *int64            `json:"canceled_at"`
	CancellationReason   *string           `json:"cancellation_reason"`
	CaptureMethod        string            `json:"capture_method"`
	ClientSecret         string            `json:"client_secret"`
	ConfirmationMethod   string            `json:"confirmation_method"`
	Created              int64             `json:"created"`
	Currency             string            `json:"currency"`
	Customer             *string           `json:"customer"`
	Description          *string           `json:"description"`
	LastPaymentError     *apiErr           `json:"last_payment_error"`
	LatestCharge         any               `json:"latest_charge"`
	Livemode             bool              `json:"livemode"`
	Metadata             map[string]string `json:"metadata"`
	NextAction           *nextAction       `json:"next_action"`
	PaymentMethod        *string           `json:"payment_method"`
	PaymentMethodOptions map[string]any    `json:"payment_method_options"`
	PaymentMethodTypes   []string          `json:"payment_method_types"`
	Status               string            `json:"status"`

	latestCharge string
	returnURL    string
	request3DS   string // automatic | any | challenge
	acsToken     string
	pm           *paymentMethod
	offSession   bool
}

type threeDSecure struct {
	AuthenticationFlow          *string `json:"authentication_flow"`
	ElectronicCommerceIndicator *string `json:"electronic_commerce_indicator"`
	Result                      string  `json:"result"`
	ResultReason                *string `json:"result_reason"`
	TransactionID               string  `json:"transaction_id"`
	Version                     string  `json:"version"`
}

type chargeCard struct {
	pmCard
	ThreeDSecure *threeDSecure `json:"three_d_secure"`
}

type paymentMethodDetails struct {
	Type string     `json:"type"`
	Card chargeCard `json:"card"`
}

type outcome struct {
	NetworkStatus string  `json:"network_status"`
	Reason        *string `json:"reason"`
	RiskLevel     string  `json:"risk_level"`
	SellerMessage string  `json:"seller_message"`
	Type          string  `json:"type"`
}

type charge struct {
	ID                   string               `json:"id"`
	Object               string               `json:"object"`
	Amount               int64                `json:"amount"`
	AmountCaptured       int64                `json:"amount_captured"`
	AmountRefunded       int64                `json:"amount_refunded"`
	BalanceTransaction   *string              `json:"balance_transaction"`
	Captured             bool                 `json:"captured"`
	Created              int64                `json:"created"`
	Currency             string               `json:"currency"`
	FailureCode          *string              `json:"failure_code"`
	FailureMessage       *string              `json:"failure_message"`
	Livemode             bool                 `json:"livemode"`
	Metadata             map[string]string    `json:"metadata"`
	Outcome              outcome              `json:"outcome"`
	Paid                 bool                 `json:"paid"`
	PaymentIntent        string               `json:"payment_intent"`
	PaymentMethod        string               `json:"payment_method"`
	PaymentMethodDetails paymentMethodDetails `json:"payment_method_details"`
	Refunded             bool                 `json:"refunded"`
	Status               string               `json:"status"`
}

type refund struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Amount             int64             `json:"amount"`
	BalanceTransaction *string           `json:"balance_transaction"`
	Charge             string            `json:"charge"`
	Created            int64             `json:"created"`
	Currency           string            `json:"currency"`
	FailureReason      *string           `json:"failure_reason,omitempty"`
	Metadata           map[string]string `json:"metadata"`
	PaymentIntent      string            `json:"payment_intent"`
	Reason             *string           `json:"reason"`
	Status             string            `json:"status"`
}

type feeDetail struct {
	Amount      int64   `json:"amount"`
	Application *string `json:"application"`
	Currency    string  `json:"currency"`
	Description string  `json:"description"`
	Type        string  `json:"type"`
}

type balanceTransaction struct {
	ID                string      `json:"id"`
	Object            string      `json:"object"`
	Amount            int64       `json:"amount"`
	AvailableOn       int64       `json:"available_on"`
	Created           int64       `json:"created"`
	Currency          string      `json:"currency"`
	Description       *string     `json:"description"`
	Fee               int64       `json:"fee"`
	FeeDetails        []feeDetail `json:"fee_details"`
	Net               int64       `json:"net"`
	ReportingCategory string      `json:"reporting_category"`
	Source            any         `json:"source"`
	Status            string      `json:"status"`
	Type              string      `json:"type"`

	source string
}

type webhookEndpoint struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	APIVersion    *string           `json:"api_version"`
	Application   *string           `json:"application"`
	Created       int64             `json:"created"`
	Description   *string           `json:"description"`
	EnabledEvents []string          `json:"enabled_events"`
	Livemode      bool              `json:"livemode"`
	Metadata      map[string]string `json:"metadata"`
	Secret        string            `json:"secret,omitempty"`
	Status        string            `json:"status"`
	URL           string            `json:"url"`
}

type list struct {
	Object  string `json:"object"`
	Data    []any  `json:"data"`
	HasMore bool   `json:"has_more"`
	URL     string `json:"url"`
}

type searchResult struct {
	Object   string  `json:"object"`
	Data     []any   `json:"data"`
	HasMore  bool    `json:"has_more"`
	NextPage *string `json:"next_page"`
	URL      string  `json:"url"`
}

func str(s string) *string { return &s }

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func atoi(s string) (int, error) { return strconv.Atoi(s) }

// Fee is the simulated Stripe processing fee on a captured card payment:
// 2.9% + 30 minor units, with the percentage rounded half up to a whole
// minor unit (integer arithmetic: (amount*29 + 500) / 1000). Refunds
// return no fee, as on Stripe.
func Fee(amount int64) int64 { return (amount*29+500)/1000 + 30 }
