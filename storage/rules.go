package storage

import (
	"fmt"

	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
	mongodbadapter "github.com/casbin/mongodb-adapter/v3"

	"credkeep/storage/writelock"
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
	if s.locks != nil {
		s.rules = queuedRules{RuleAdapter: ra, locks: s.locks}
	}
	return nil
}

// queuedRules makes the adapter's writes queue behind the embedded database's
// writer lock like every other write of storage (collection.go): the adapter
// writes through a collection of its own, and its inserts met the other
// writers inside SQLite, whose busy handler made them sleep whole
// milliseconds (an insert of a rule took ~20 ms while credentials were being
// created).
type queuedRules struct {
	RuleAdapter
	locks *writelock.Locker
}

func (q queuedRules) write() func() { return q.locks.Lock(nil, false, true) }

func (q queuedRules) SavePolicy(m model.Model) error {
	defer q.write()()
	return q.RuleAdapter.SavePolicy(m)
}

func (q queuedRules) AddPolicy(sec, ptype string, rule []string) error {
	defer q.write()()
	return q.RuleAdapter.AddPolicy(sec, ptype, rule)
}

func (q queuedRules) RemovePolicy(sec, ptype string, rule []string) error {
	defer q.write()()
	return q.RuleAdapter.RemovePolicy(sec, ptype, rule)
}

func (q queuedRules) RemoveFilteredPolicy(sec, ptype string, fieldIndex int, fieldValues ...string) error {
	defer q.write()()
	return q.RuleAdapter.RemoveFilteredPolicy(sec, ptype, fieldIndex, fieldValues...)
}

func (q queuedRules) AddPolicies(sec, ptype string, rules [][]string) error {
	defer q.write()()
	return q.RuleAdapter.AddPolicies(sec, ptype, rules)
}

func (q queuedRules) RemovePolicies(sec, ptype string, rules [][]string) error {
	defer q.write()()
	return q.RuleAdapter.RemovePolicies(sec, ptype, rules)
}

// Rules returns the Casbin rule adapter.
func (s *Store) Rules() RuleAdapter { return s.rules }
