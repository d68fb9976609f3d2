package storage

import (
	"fmt"

	"github.com/casbin/casbin/v2/persist"
	mongodbadapter "github.com/casbin/mongodb-adapter/v3"
)

// colRules holds Casbin policy rules (credential grants).
const colRules = "casbin_rule"

// RuleAdapter stores Casbin rules in MongoDB.
type RuleAdapter interface {
	persist.FilteredAdapter
	persist.BatchAdapter
}

// newRuleAdapter builds the Casbin MongoDB adapter on this store's client (it
// creates its index at start-up). The Store keeps it for as long as the client:
// the adapter disconnects its client when it is garbage-collected.
func (s *Store) newRuleAdapter() error {
	a, err := mongodbadapter.NewAdapterByDB(s.client, &mongodbadapter.AdapterConfig{
		DatabaseName:   s.db.Name(),
		CollectionName: colRules,
		IsFiltered:     true,
	})
	if err != nil {
		return fmt.Errorf("casbin adapter: %w", err)
	}
	ra, ok := a.(RuleAdapter)
	if !ok {
		return fmt.Errorf("casbin adapter does not support filtered loading")
	}
	s.rules = ra
	return nil
}

// Rules returns the Casbin rule adapter.
func (s *Store) Rules() RuleAdapter { return s.rules }
