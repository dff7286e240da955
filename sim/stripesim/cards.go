package stripesim

// Test cards. The numbers and their outcomes follow Stripe's public testing
// page (docs.stripe.com/testing, "Declined payments" and "3D Secure
// authentication"), except the two marked sim-only, which Stripe has no
// equivalent for and which make the simulator misbehave the way a processor
// outage does. Any other number that passes the Luhn check succeeds like
// 4242424242424242; one that fails it is refused at PaymentMethod creation
// with card_error incorrect_number, as Stripe does. Any future expiry date
// and any CVC (or none) are accepted.
//
//	number            | request_three_d_secure=automatic   | =any                 | then
//	4242424242424242  | frictionless 3DS2, authenticated  | challenge            | succeeds
//	5555555555554444  | frictionless 3DS2, authenticated  | challenge            | succeeds (Mastercard)
//	378282246310005   | no 3DS (not supported)            | no 3DS               | succeeds (Amex)
//	4000000000003055  | no 3DS (supported, not required)  | challenge            | succeeds
//	4000000000003220  | challenge (3DS2 required)         | challenge            | succeeds
//	4000000000003063  | challenge (3DS required)          | challenge            | succeeds
//	4000002500003155  | challenge (on-session required)   | challenge            | succeeds
//	4000002760003184  | challenge (always required)       | challenge            | succeeds; off-session: authentication_required
//	4000003800000446  | challenge (setup required)        | challenge            | succeeds; off-session after setup: succeeds
//	4000008260003178  | challenge                         | challenge            | declined insufficient_funds
//	4000008400001629  | challenge                         | challenge            | declined card_declined
//	4000000000000002  | -                                 | -                    | declined card_declined / generic_decline
//	4000000000009995  | -                                 | -                    | declined card_declined / insufficient_funds
//	4000000000009987  | -                                 | -                    | declined card_declined / lost_card
//	4000000000009979  | -                                 | -                    | declined card_declined / stolen_card
//	4000000000000069  | -                                 | -                    | declined expired_card
//	4000000000000127  | -                                 | -                    | declined incorrect_cvc
//	4000000000000119  | -                                 | -                    | declined processing_error
//	4000000000005126  | -                                 | -                    | succeeds; its refunds stay pending, then fail
//	4000000000005001  | sim-only: HTTP 500 api_error (stored under the Idempotency-Key and replayed)
//	4000000000007775  | sim-only: answers after Options.SlowDelay (then succeeds), to exceed the client's timeout
//
// Off session (a PaymentIntent with customer and off_session=true, on a
// card a SetupIntent attached to the customer), no 3-D Secure runs: the
// payment is merchant-initiated. A card set up with usage=off_session is
// charged without its cardholder, except 4000002760003184, which the
// issuer always wants authenticated: declined authentication_required. A
// card that wants authentication and was not set up for off-session use is
// declined the same way. Setting a card up declines as paying with it does,
// except insufficient_funds (the check is for a zero amount).
//
// A challenge is completed on the sim's ACS page (or by Sim.Pay) with the
// one-time code 123456; any other code fails authentication, leaving the
// PaymentIntent in requires_payment_method with last_payment_error
// payment_intent_authentication_failure.
type testCard struct {
	brand string
	// auto and any are the 3-D Secure flow ("none", "frictionless",
	// "challenge") for request_three_d_secure automatic and any.
	auto, any string
	// code and decline are the card_error the authorization ends with.
	code, decline, message string
	refundFails            bool
	// offSessionAuth: the issuer wants the cardholder's authentication
	// even for payments the merchant makes without them on a card set up
	// for it (Stripe's "always authenticate" card).
	offSessionAuth bool
	processorError bool
	slow           bool
}

// ChallengeCode is the one-time code that passes a 3-D Secure challenge.
const ChallengeCode = "123456"

// Sim-only card numbers.
const (
	CardProcessorError = "4000000000005001"
	CardSlow           = "4000000000007775"
)

var cards = map[string]testCard{
	"4242424242424242": {brand: "visa", auto: "frictionless", any: "challenge"},
	"5555555555554444": {brand: "mastercard", auto: "frictionless", any: "challenge"},
	"378282246310005":  {brand: "amex", auto: "none", any: "none"},
	"4000000000003055": {brand: "visa", auto: "none", any: "challenge"},
	"4000000000003220": {brand: "visa", auto: "challenge", any: "challenge"},
	"4000000000003063": {brand: "visa", auto: "challenge", any: "challenge"},
	"4000002500003155": {brand: "visa", auto: "challenge", any: "challenge"},
	"4000002760003184": {brand: "visa", auto: "challenge", any: "challenge", offSessionAuth: true},
	"4000003800000446": {brand: "visa", auto: "challenge", any: "challenge"},
	"4000008260003178": {brand: "visa", auto: "challenge", any: "challenge", code: "card_declined", decline: "insufficient_funds", message: "Your card has insufficient funds."},
	"4000008400001629": {brand: "visa", auto: "challenge", any: "challenge", code: "card_declined", decline: "generic_decline", message: "Your card was declined."},
	"4000000000000002": {brand: "visa", auto: "none", any: "none", code: "card_declined", decline: "generic_decline", message: "Your card was declined."},
	"4000000000009995": {brand: "visa", auto: "none", any: "none", code: "card_declined", decline: "insufficient_funds", message: "Your card has insufficient funds."},
	"4000000000009987": {brand: "visa", auto: "none", any: "none", code: "card_declined", decline: "lost_card", message: "Your card was declined."},
	"4000000000009979": {brand: "visa", auto: "none", any: "none", code: "card_declined", decline: "stolen_card", message: "Your card was declined."},
	"4000000000000069": {brand: "visa", auto: "none", any: "none", code: "expired_card", decline: "expired_card", message: "Your card has expired."},
	"4000000000000127": {brand: "visa", auto: "none", any: "none", code: "incorrect_cvc", decline: "incorrect_cvc", message: "Your card's security code is incorrect."},
	"4000000000000119": {brand: "visa", auto: "none", any: "none", code: "processing_error", decline: "processing_error", message: "An error occurred while processing your card. Try again in a little bit."},
	"4000000000005126": {brand: "visa", auto: "none", any: "none", refundFails: true},
	CardProcessorError: {brand: "visa", auto: "none", any: "none", processorError: true},
	CardSlow:           {brand: "visa", auto: "none", any: "none", slow: true},
}

// cardFor returns the behaviour of a card number (unknown valid numbers
// behave like 4242424242424242, with the brand guessed from the prefix).
func cardFor(number string) testCard {
	if c, ok := cards[number]; ok {
		return c
	}
	brand := "unknown"
	switch {
	case len(number) > 0 && number[0] == '4':
		brand = "visa"
	case len(number) > 1 && number[0] == '5' && number[1] >= '1' && number[1] <= '5', len(number) > 0 && number[0] == '2':
		brand = "mastercard"
	case len(number) > 1 && number[0] == '3' && (number[1] == '4' || number[1] == '7'):
		brand = "amex"
	}
	return testCard{brand: brand, auto: "frictionless", any: "challenge"}
}

func luhn(number string) bool {
	if len(number) < 12 || len(number) > 19 {
		return false
	}
	sum := 0
	for i := 0; i < len(number); i++ {
		d := int(number[len(number)-1-i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}
