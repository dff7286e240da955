package risk

import (
	"fmt"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"

	"github.com/polypay/polypay"
)

// Action is what a decision does with the request.
type Action string

// The actions a rule may take.
const (
	Allow      Action = "allow"
	Block      Action = "block"
	Review     Action = "review"      // held for the merchant's review
	Require3DS Action = "require_3ds" // cards: 3-D Secure challenge required
)

// ParseAction checks a rule's action.
func ParseAction(s string) (Action, error) {
	switch a := Action(s); a {
	case Allow, Block, Review, Require3DS:
		return a, nil
	}
	return "", polypay.ParamError("action", "action 必须是 allow、block、review 或 require_3ds 之一")
}

// MaxCondition bounds a rule's condition text.
const MaxCondition = 2000

// costLimit bounds one evaluation: CEL is not Turing-complete, and this
// keeps a rule over long strings or lists from slowing the hot path.
const costLimit = 10000

// Counters a rule can read as velocity["name"], over the app's window.
var counterNames = []string{
	"ip_attempts", "ip_failures", "ip_cards",
	"card_attempts", "card_failures", "card_ips",
	"email_attempts", "email_cards",
	"device_attempts", "device_cards",
	"customer_attempts", "customer_cards",
}

var (
	envOnce sync.Once
	env     *cel.Env
	envErr  error
)

// celEnv declares the facts and counters rules see. The client's address
// is client_ip (a string; ext.Network's ip() and cidr() parse it).
func celEnv() (*cel.Env, error) {
	envOnce.Do(func() {
		env, envErr = cel.NewEnv(
			cel.Variable("route", cel.StringType),
			cel.Variable("channel", cel.StringType),
			cel.Variable("amount", cel.IntType),
			cel.Variable("currency", cel.StringType),
			cel.Variable("livemode", cel.BoolType),
			cel.Variable("client_ip", cel.StringType),
			cel.Variable("card", cel.StringType),
			cel.Variable("country", cel.StringType),
			cel.Variable("customer", cel.StringType),
			cel.Variable("email", cel.StringType),
			cel.Variable("device", cel.StringType),
			cel.Variable("velocity", cel.MapType(cel.StringType, cel.IntType)),
			ext.Strings(), ext.Network(),
			cel.ParserExpressionSizeLimit(MaxCondition),
		)
	})
	return env, envErr
}

// Compiled is a rule ready to evaluate.
type Compiled struct {
	prg cel.Program
}

// Compile checks a condition: valid CEL over the declared facts, of type
// bool. Errors are EInvalid naming param, with CEL's own description of
// the bad part (line and column).
func Compile(param, condition string) (*Compiled, error) {
	if strings.TrimSpace(condition) == "" {
		return nil, polypay.ParamError(param, "%s 不能为空", param)
	}
	if len(condition) > MaxCondition {
		return nil, polypay.ParamError(param, "%s 不能超过 %d 个字符", param, MaxCondition)
	}
	e, err := celEnv()
	if err != nil {
		return nil, err
	}
	ast, iss := e.Compile(condition)
	if iss.Err() != nil {
		return nil, polypay.ParamError(param, "%s 无效: %s", param, iss.Err())
	}
	if ast.OutputType() != cel.BoolType {
		return nil, polypay.ParamError(param, "%s 必须是布尔表达式，而不是 %s", param, ast.OutputType())
	}
	prg, err := e.Program(ast, cel.CostLimit(costLimit))
	if err != nil {
		return nil, polypay.ParamError(param, "%s 无效: %v", param, err)
	}
	return &Compiled{prg: prg}, nil
}

// Match evaluates the condition; an evaluation error (a missing map key,
// the cost limit) is a non-match reported as err, so a broken rule never
// blocks by accident.
func (c *Compiled) Match(vars map[string]any) (bool, error) {
	out, _, err := c.prg.Eval(vars)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("rule evaluated to %T", out.Value())
	}
	return b, nil
}

// vars are the facts and counters as a rule sees them.
func vars(f Facts, c Counters) map[string]any {
	v := make(map[string]int64, len(counterNames))
	for _, n := range counterNames {
		v[n] = c[n]
	}
	return map[string]any{
		"route": string(f.Route), "channel": f.Channel, "amount": f.Amount, "currency": f.Currency,
		"livemode": f.Live, "client_ip": f.IP, "card": f.Card, "country": f.BINCountry,
		"customer": f.Customer, "email": strings.ToLower(f.Email), "device": f.Device, "velocity": v,
	}
}

// ruleCache keeps compiled rules by id and update time, so a node compiles
// each version of a rule once.
type ruleCache struct {
	mu sync.Mutex
	m  map[string]cacheEntry
}

type cacheEntry struct {
	updated int64
	c       *Compiled
	err     error
}

func (rc *ruleCache) get(id string, updated int64, condition string) (*Compiled, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if e, ok := rc.m[id]; ok && e.updated == updated {
		return e.c, e.err
	}
	if rc.m == nil || len(rc.m) > 10000 {
		rc.m = map[string]cacheEntry{} // bounded: rules are few; a flood of versions starts over
	}
	c, err := Compile("condition", condition)
	rc.m[id] = cacheEntry{updated: updated, c: c, err: err}
	return c, err
}
