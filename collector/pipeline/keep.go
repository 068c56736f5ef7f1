package pipeline

import (
	"encoding/json"
	"fmt"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/ledger"
)

// Fact kinds of the bounded families' aggregate.Keeper, keyed by
// aggregate.GroupHour.String.
const (
	// factKeep is a group's keep set for an hour: decided once, by the first
	// batch with data for it.
	factKeep = "keep"
	// factTally is a group's largest label sets in an hour, as the batches
	// tallied them: what decides the next hour's keep set.
	factTally = "tally"
)

// loadKeep takes in a keep or tally fact of the ledger.
func loadKeep(kp *aggregate.Keeper, kind, key string, value []byte) error {
	var gh aggregate.GroupHour
	err := gh.UnmarshalText([]byte(key))
	if err == nil {
		switch kind {
		case factKeep:
			var ls []string
			if err = json.Unmarshal(value, &ls); err == nil {
				kp.Load(gh, ls, true, nil)
			}
		case factTally:
			var ts []aggregate.Tally
			if err = json.Unmarshal(value, &ts); err == nil {
				kp.Load(gh, nil, false, ts)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("fact %s %s: %w", kind, key, err)
	}
	return nil
}

// keepFacts returns the facts that record what a decision of kp changed.
func keepFacts(kp *aggregate.Keeper, ch aggregate.Changes) []ledger.Fact {
	facts := make([]ledger.Fact, 0, len(ch.Kept)+len(ch.Tallied)+2*len(ch.Forgotten))
	put := func(kind string, gh aggregate.GroupHour, v any) {
		b, _ := json.Marshal(v) // strings and numbers: cannot fail
		facts = append(facts, ledger.Fact{Kind: kind, Key: gh.String(), Value: b})
	}
	for _, gh := range ch.Kept {
		ls, _ := kp.KeepSet(gh)
		put(factKeep, gh, ls)
	}
	for _, gh := range ch.Tallied {
		put(factTally, gh, kp.Tally(gh))
	}
	for _, gh := range ch.Forgotten {
		facts = append(facts, ledger.Fact{Kind: factKeep, Key: gh.String()}, ledger.Fact{Kind: factTally, Key: gh.String()}) // no value: deleted
	}
	return facts
}
