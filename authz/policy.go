package authz

import (
	"context"
	"credkeep/authn"
	_ "embed"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
	lru "github.com/hashicorp/golang-lru/v2"
	"go.mongodb.org/mongo-driver/bson"
	"golang.org/x/sync/singleflight"
)

//go:embed model.conf
var modelText string

// PolicyStore is what the Authorizer needs from storage.
type PolicyStore interface {
	// PolicyVersion returns the workspace's policy version; ok is false when the
	// workspace does not exist (or is being deleted).
	PolicyVersion(ctx context.Context, workspaceID string) (version int64, ok bool, err error)
	// BumpPolicyVersion marks every cached copy of the workspace's policies
	// stale and returns the new version.
	BumpPolicyVersion(ctx context.Context, workspaceID string) (int64, error)
	// MemberRoles returns user id → role for the workspace's members.
	MemberRoles(ctx context.Context, workspaceID string) (map[string]string, error)
}

// RuleAdapter stores policy rules: casbin/mongodb-adapter.
type RuleAdapter interface {
	persist.FilteredAdapter
	persist.BatchAdapter
}

// GranteeKind says whom a grant is for.
type GranteeKind string

// Grantee kinds.
const (
	GranteeUser      GranteeKind = "USER"
	GranteeWorkspace GranteeKind = "WORKSPACE"
)

// Grant is one sharing of a credential.
type Grant struct {
	ID        string
	Kind      GranteeKind
	UserID    string // for GranteeUser
	Level     Level
	GrantedBy string
	GrantedAt time.Time
}

const (
	gidOwner   = "owner"
	gidBuiltin = "builtin"
	// subEveryone is the role every member of a workspace has (WORKSPACE grants).
	subEveryone = "role:everyone"
)

// Authorizer decides credential access levels with Casbin. Each instance keeps
// the compiled policies of recently used workspaces, tagged with the workspace's
// policy version; every request reads that version (one _id lookup) and reloads
// when it changed, so a revocation on any instance is seen on the next request.
type Authorizer struct {
	adapter RuleAdapter
	store   PolicyStore
	model   model.Model
	cache   *lru.Cache[string, *policySet]
	loads   singleflight.Group
	builds  atomic.Int64 // policy sets compiled from the database (tests watch it)
	// loadMu serializes loads through the adapter: the Casbin MongoDB adapter
	// records whether its last load was filtered in a field of its own, unguarded,
	// so two workspaces (or two versions of one) built at once race on it.
	loadMu sync.Mutex
	// writeMu serializes this instance's rule changes per workspace (striped).
	writeMu [writeStripes]sync.Mutex
}

const writeStripes = 64

// maxSets bounds the workspaces whose compiled policies are kept.
const maxSets = 1024

// policySet is one workspace's compiled policies at one version. Its rules are
// never modified after it is built; it memoizes each user's levels.
type policySet struct {
	version  int64
	enforcer *casbin.SyncedEnforcer
	members  map[string]Role

	mu     sync.Mutex
	byUser map[string]*userLevels
}

// userLevels are one user's levels on a workspace's credentials.
type userLevels struct {
	all   Level            // from rules on "*" (OWNER, ADMIN)
	byObj map[string]Level // from rules on one credential
}

// NewAuthorizer compiles the model once; policy sets copy it.
func NewAuthorizer(adapter RuleAdapter, store PolicyStore) (*Authorizer, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("casbin model: %w", err)
	}
	cache, err := lru.New[string, *policySet](maxSets)
	if err != nil {
		return nil, err
	}
	return &Authorizer{adapter: adapter, store: store, model: m, cache: cache}, nil
}

// Level returns the principal's access to a credential of a workspace. A
// non-member has LevelNone whatever grants name them, and so has a token
// restricted to another workspace.
func (a *Authorizer) Level(ctx context.Context, p *authn.Principal, workspaceID, credentialID string) (Level, error) {
	if !p.SeesWorkspace(workspaceID) {
		return LevelNone, nil
	}
	rc := requestCacheFrom(ctx)
	key := workspaceID + "/" + credentialID
	if l, ok := rc.level(key); ok {
		return l, nil
	}
	set, err := a.policySet(ctx, workspaceID)
	if err != nil {
		return LevelNone, err
	}
	l, err := set.level(p.UserID, workspaceID, credentialID)
	if err != nil {
		return LevelNone, err
	}
	rc.setLevel(key, l)
	return l, nil
}

// LevelsIn returns the principal's level on any credential of a workspace, as
// of the policies this request uses (what Level answers, credential by
// credential): for a list, which asks it of every credential of the workspace.
func (a *Authorizer) LevelsIn(ctx context.Context, p *authn.Principal, workspaceID string) (func(credentialID string) Level, error) {
	none := func(string) Level { return LevelNone }
	if !p.SeesWorkspace(workspaceID) {
		return none, nil
	}
	set, err := a.policySet(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	if _, member := set.members[p.UserID]; !member {
		return none, nil
	}
	ul, err := set.levelsOf(p.UserID, workspaceID)
	if err != nil {
		return nil, err
	}
	if ul.all == LevelManage || len(ul.byObj) == 0 {
		return func(string) Level { return ul.all }, nil
	}
	return func(credentialID string) Level { return max(ul.all, ul.byObj[credObject(credentialID)]) }, nil
}

// Role returns the principal's role in a workspace ("" for a non-member, and for
// a token restricted to another workspace), as of the policies this request uses.
func (a *Authorizer) Role(ctx context.Context, p *authn.Principal, workspaceID string) (Role, error) {
	if !p.SeesWorkspace(workspaceID) {
		return "", nil
	}
	set, err := a.policySet(ctx, workspaceID)
	if err != nil {
		return "", err
	}
	return set.members[p.UserID], nil
}

// level is the highest level whose action Casbin's matcher would allow. Asking
// Enforce for each credential costs a pass over every rule of the workspace
// (quadratic for a page of credentials; docs/performance.md); instead one
// pass collects the user's rules through Casbin's role manager and policy index,
// memoized per user for this version. TestLevelsAgreeWithEnforce holds the two equal.
func (s *policySet) level(userID, workspaceID, credentialID string) (Level, error) {
	if _, member := s.members[userID]; !member {
		return LevelNone, nil
	}
	ul, err := s.levelsOf(userID, workspaceID)
	if err != nil {
		return LevelNone, err
	}
	return max(ul.all, ul.byObj[credObject(credentialID)]), nil
}

func (s *policySet) levelsOf(userID, workspaceID string) (*userLevels, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ul, ok := s.byUser[userID]; ok {
		return ul, nil
	}
	sub := userSubject(userID)
	roles, err := s.enforcer.GetImplicitRolesForUser(sub, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("roles: %w", err)
	}
	ul := &userLevels{byObj: map[string]Level{}}
	for _, subject := range append([]string{sub}, roles...) {
		rules, err := s.enforcer.GetFilteredPolicy(0, subject, workspaceID)
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		for _, r := range rules {
			l := levelOfAction(r[3])
			if r[2] == "*" {
				ul.all = max(ul.all, l)
			} else {
				ul.byObj[r[2]] = max(ul.byObj[r[2]], l)
			}
		}
	}
	if s.byUser == nil {
		s.byUser = map[string]*userLevels{}
	}
	s.byUser[userID] = ul
	return ul, nil
}

// enforceLevel asks Casbin's matcher directly, level by level (tests compare it with level).
func (s *policySet) enforceLevel(userID, workspaceID, credentialID string) (Level, error) {
	if _, member := s.members[userID]; !member {
		return LevelNone, nil
	}
	sub, obj := userSubject(userID), credObject(credentialID)
	for _, l := range []Level{LevelManage, LevelView, LevelUse} {
		ok, err := s.enforcer.Enforce(sub, workspaceID, obj, l.action())
		if err != nil {
			return LevelNone, fmt.Errorf("enforce: %w", err)
		}
		if ok {
			return l, nil
		}
	}
	return LevelNone, nil
}

// Grants lists a credential's grants, oldest first (the creator's own MANAGE is not a grant).
func (a *Authorizer) Grants(ctx context.Context, workspaceID, credentialID string) ([]Grant, error) {
	set, err := a.policySet(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	rules, err := set.enforcer.GetFilteredPolicy(2, credObject(credentialID))
	if err != nil {
		return nil, err
	}
	var out []Grant
	for _, r := range rules {
		if g, ok := ruleToGrant(r); ok {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].GrantedAt.Equal(out[j].GrantedAt) {
			return out[i].GrantedAt.Before(out[j].GrantedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Shared returns the ids of the workspace's credentials that have at least one grant.
func (a *Authorizer) Shared(ctx context.Context, workspaceID string) (map[string]bool, error) {
	set, err := a.policySet(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	rules, err := set.enforcer.GetPolicy()
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, r := range rules {
		if _, ok := ruleToGrant(r); ok {
			out[strings.TrimPrefix(r[2], "cred:")] = true
		}
	}
	return out, nil
}

// GrantOwner gives the creator of a credential MANAGE on it.
func (a *Authorizer) GrantOwner(ctx context.Context, workspaceID, credentialID, userID string, at time.Time) error {
	rule := []string{userSubject(userID), workspaceID, credObject(credentialID), LevelManage.action(), gidOwner, encodeMeta(userID, at)}
	return a.write(ctx, workspaceID, func() error { return a.adapter.AddPolicy("p", "p", rule) }, addRule(rule), rule)
}

// addRule and removeRules apply a rule change to a compiled policy set.
func addRule(rule []string) func(*casbin.SyncedEnforcer) error {
	return func(e *casbin.SyncedEnforcer) error {
		_, err := e.AddPolicy(rule)
		return err
	}
}

func removeRules(field int, values ...string) func(*casbin.SyncedEnforcer) error {
	return func(e *casbin.SyncedEnforcer) error {
		_, err := e.RemoveFilteredPolicy(field, values...)
		return err
	}
}

// PutGrant shares a credential. A grant to the same grantee is replaced: the new
// grant is stored first, then the old one removed, so the grantee never loses
// access in between.
func (a *Authorizer) PutGrant(ctx context.Context, workspaceID, credentialID string, g Grant) error {
	sub := subEveryone
	if g.Kind == GranteeUser {
		sub = userSubject(g.UserID)
	}
	rule := []string{sub, workspaceID, credObject(credentialID), g.Level.action(), g.ID, encodeMeta(g.GrantedBy, g.GrantedAt)}
	existing, err := a.Grants(ctx, workspaceID, credentialID)
	if err != nil {
		return err
	}
	if err := a.write(ctx, workspaceID, func() error { return a.adapter.AddPolicy("p", "p", rule) }, addRule(rule), rule); err != nil {
		return err
	}
	for _, old := range existing {
		if old.Kind == g.Kind && old.UserID == g.UserID && old.ID != g.ID {
			if _, err := a.RemoveGrant(ctx, workspaceID, credentialID, old.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// RemoveGrant revokes a grant; found is false when the credential has no such grant.
func (a *Authorizer) RemoveGrant(ctx context.Context, workspaceID, credentialID, grantID string) (found bool, err error) {
	if grantID == gidOwner || grantID == gidBuiltin || !safeToken.MatchString(grantID) {
		return false, nil
	}
	grants, err := a.Grants(ctx, workspaceID, credentialID)
	if err != nil {
		return false, err
	}
	for _, g := range grants {
		if g.ID == grantID {
			err := a.write(ctx, workspaceID, func() error {
				return a.adapter.RemoveFilteredPolicy("p", "p", 1, workspaceID, credObject(credentialID), "", grantID)
			}, removeRules(1, workspaceID, credObject(credentialID), "", grantID))
			return err == nil, err
		}
	}
	return false, nil
}

// DropCredential removes every rule of a deleted credential.
func (a *Authorizer) DropCredential(ctx context.Context, workspaceID, credentialID string) error {
	return a.write(ctx, workspaceID, func() error {
		return a.adapter.RemoveFilteredPolicy("p", "p", 1, workspaceID, credObject(credentialID))
	}, removeRules(1, workspaceID, credObject(credentialID)))
}

// DropMember removes every rule naming a user who left the workspace, so that
// rejoining later does not bring old grants back.
func (a *Authorizer) DropMember(ctx context.Context, workspaceID, userID string) error {
	return a.write(ctx, workspaceID, func() error {
		return a.adapter.RemoveFilteredPolicy("p", "p", 0, userSubject(userID), workspaceID)
	}, nil) // members change too: recompile
}

// DropWorkspace removes every rule of a deleted workspace.
func (a *Authorizer) DropWorkspace(ctx context.Context, workspaceID string) error {
	if err := a.adapter.RemoveFilteredPolicy("p", "p", 1, workspaceID); err != nil {
		return fmt.Errorf("remove policies: %w", err)
	}
	a.cache.Remove(workspaceID)
	return nil
}

// MembershipChanged makes every instance reload the workspace's policies: roles
// are part of them. Call it after each change of membership.
func (a *Authorizer) MembershipChanged(ctx context.Context, workspaceID string) error {
	return a.write(ctx, workspaceID, func() error { return nil }, nil)
}

// write stores a rule change, then bumps the workspace's policy version, so
// that no instance (this request included) keeps deciding on the old rules.
// Rules it writes must consist of safe tokens: the adapter reads rules back as
// CSV text, where a comma or quote in a value would split or forge a rule.
//
// apply (nil: none) makes the same change to a compiled set: when this
// instance holds the set of the version just before its own bump, no other
// write came in between, so that set plus this change is the new version's
// set, and the next request needs no reload (a reload scans every rule of the
// workspace; creating credentials one after another was quadratic).
func (a *Authorizer) write(ctx context.Context, workspaceID string, change func() error, apply func(*casbin.SyncedEnforcer) error, rules ...[]string) error {
	for _, r := range rules {
		for _, tok := range r {
			if !safeToken.MatchString(tok) {
				return fmt.Errorf("refusing to store policy token %q", tok)
			}
		}
	}
	// One change at a time per workspace on this instance: each then finds the
	// set its predecessor left, and the next set is built from it instead of
	// from the database. (Concurrent creations in one workspace otherwise
	// raced past each other and rebuilt the set from every rule, quadratic.)
	mu := a.writeLock(workspaceID)
	mu.Lock()
	defer mu.Unlock()
	if err := change(); err != nil {
		return fmt.Errorf("write policy: %w", err)
	}
	requestCacheFrom(ctx).forget(workspaceID)
	// The next set is made before the bump, so that requests that read the
	// new version find it instead of building it; until then the cached set
	// keeps its old version, and is only served to requests that read that.
	prev, hadPrev := a.cache.Peek(workspaceID)
	var next *policySet
	if apply != nil && hadPrev && prev.enforcer != nil {
		next, _ = prev.with(apply, -1) // tagged below; nil if it fails (the next request reloads)
	}
	version, err := a.store.BumpPolicyVersion(ctx, workspaceID)
	if err != nil {
		a.cache.Remove(workspaceID)
		return fmt.Errorf("bump policy version: %w", err)
	}
	// Another instance's change in between (a version skipped) makes the set
	// plus this change wrong: then the next request reloads.
	if next != nil && prev.version == version-1 {
		next.version = version
		if cur, ok := a.cache.Peek(workspaceID); !ok || cur.version < version {
			a.cache.Add(workspaceID, next)
		}
	}
	return nil
}

// writeLock is the lock of a workspace's rule changes (one of writeStripes).
func (a *Authorizer) writeLock(workspaceID string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(workspaceID))
	return &a.writeMu[h.Sum32()%writeStripes]
}

// with returns a copy of the set with a change applied, tagged version.
func (s *policySet) with(apply func(*casbin.SyncedEnforcer) error, version int64) (*policySet, error) {
	e, err := casbin.NewSyncedEnforcer(s.enforcer.GetModel().Copy())
	if err != nil {
		return nil, err
	}
	if err := e.BuildRoleLinks(); err != nil {
		return nil, err
	}
	if err := apply(e); err != nil {
		return nil, err
	}
	return &policySet{version: version, enforcer: e, members: s.members}, nil
}

// safeToken is every character a stored rule may hold: ids are UUIDs, users are
// base64url-encoded, meta is base64url plus a number.
var safeToken = regexp.MustCompile(`^[A-Za-z0-9:_.*-]*$`)

// policySet returns the workspace's compiled policies, current as of this request.
func (a *Authorizer) policySet(ctx context.Context, workspaceID string) (*policySet, error) {
	rc := requestCacheFrom(ctx)
	if s := rc.set(workspaceID); s != nil {
		return s, nil
	}
	version, ok, err := a.store.PolicyVersion(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	if !ok {
		s := emptySet()
		rc.putSet(workspaceID, s)
		return s, nil
	}
	// A set of a later version holds every change up to the version read, and
	// more: as fresh as this request needs.
	cached := func() (*policySet, bool) {
		s, ok := a.cache.Get(workspaceID)
		return s, ok && s.version >= version
	}
	s, ok := cached()
	if !ok {
		// The version may be one this instance is writing: its set is made
		// before the bump and cached just after it, so a request that read the
		// version in between waits for the write rather than compile the
		// workspace's rules from a scan of every rule (about one such
		// compilation a second while credentials were being created).
		mu := a.writeLock(workspaceID)
		mu.Lock()
		mu.Unlock() //nolint:staticcheck // an empty critical section: waiting for the write is the point
		s, ok = cached()
	}
	if ok {
		rc.putSet(workspaceID, s)
		return s, nil
	}
	v, err, _ := a.loads.Do(workspaceID+"@"+strconv.FormatInt(version, 10), func() (any, error) {
		// Shared by concurrent requests: one caller's cancellation must not fail the others.
		return a.build(context.WithoutCancel(ctx), workspaceID, version)
	})
	if err != nil {
		return nil, err
	}
	s = v.(*policySet)
	a.keep(workspaceID, s)
	rc.putSet(workspaceID, s)
	return s, nil
}

// keep caches s as the workspace's set unless one of a later version is
// cached already (a build and a read-ahead may finish in either order).
func (a *Authorizer) keep(workspaceID string, s *policySet) {
	if cur, ok := a.cache.Get(workspaceID); !ok || cur.version < s.version {
		a.cache.Add(workspaceID, s)
	}
}

func emptySet() *policySet {
	return &policySet{version: -1, members: map[string]Role{}}
}

// build compiles a workspace's policies: stored grants, plus the roles of its
// members and the rules that OWNER and ADMIN manage every credential. The
// version was read before anything else, so the set is never older than its tag.
func (a *Authorizer) build(ctx context.Context, workspaceID string, version int64) (*policySet, error) {
	a.builds.Add(1)
	rules, err := a.loadRules(bson.M{"ptype": "p", "v1": workspaceID})
	if err != nil {
		return nil, err
	}
	return a.compile(ctx, workspaceID, version, rules)
}

// loadRules reads the stored rules that filter matches.
func (a *Authorizer) loadRules(filter bson.M) ([][]string, error) {
	m := a.model.Copy()
	a.loadMu.Lock()
	err := a.adapter.LoadFilteredPolicy(m, filter)
	a.loadMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("load policies: %w", err)
	}
	return m["p"]["p"].Policy, nil
}

// Warm compiles the policies of the given workspaces from one read of every
// stored rule, and keeps each at its version, read before. Meant for start-up
// on a database with one writer (the embedded one), where FerretDB answers a
// read of one workspace's rules by scanning every rule: without it, the first
// request in each workspace after a restart paid that scan (~0.3 s at 5,000
// credentials). Beyond the number of sets the cache keeps it does nothing.
func (a *Authorizer) Warm(ctx context.Context, workspaceIDs []string) error {
	if len(workspaceIDs) > maxSets {
		return nil
	}
	versions := make(map[string]int64, len(workspaceIDs))
	for _, ws := range workspaceIDs {
		v, ok, err := a.store.PolicyVersion(ctx, ws)
		if err != nil {
			return err
		}
		if ok {
			versions[ws] = v
		}
	}
	rules, err := a.loadRules(bson.M{"ptype": "p"})
	if err != nil {
		return err
	}
	byWorkspace := make(map[string][][]string, len(versions))
	for _, r := range rules {
		if len(r) > 1 {
			byWorkspace[r[1]] = append(byWorkspace[r[1]], r)
		}
	}
	for ws, v := range versions {
		s, err := a.compile(ctx, ws, v, byWorkspace[ws])
		if err != nil {
			return err
		}
		a.keep(ws, s)
	}
	return nil
}

// compile makes a workspace's policy set from its stored rules.
func (a *Authorizer) compile(ctx context.Context, workspaceID string, version int64, rules [][]string) (*policySet, error) {
	e, err := casbin.NewSyncedEnforcer(a.model.Copy())
	if err != nil {
		return nil, fmt.Errorf("casbin enforcer: %w", err)
	}
	if len(rules) > 0 {
		if err := e.GetModel().AddPolicies("p", "p", rules); err != nil {
			return nil, fmt.Errorf("load policies: %w", err)
		}
	}
	roles, err := a.store.MemberRoles(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	members := make(map[string]Role, len(roles))
	groupings := make([][]string, 0, len(roles)+3)
	for uid, r := range roles {
		members[uid] = Role(r)
		groupings = append(groupings, []string{userSubject(uid), "role:" + strings.ToLower(r), workspaceID})
	}
	for _, r := range []Role{RoleOwner, RoleAdmin, RoleMember} {
		groupings = append(groupings, []string{"role:" + strings.ToLower(string(r)), subEveryone, workspaceID})
	}
	if _, err := e.AddGroupingPolicies(groupings); err != nil {
		return nil, err
	}
	if _, err := e.AddNamedGroupingPolicies("g2", [][]string{{"manage", "view"}, {"view", "use"}}); err != nil {
		return nil, err
	}
	// The roles whose actions include ActCredentialsAdmin manage every credential.
	var builtin [][]string
	for _, r := range []Role{RoleOwner, RoleAdmin, RoleMember} {
		if RoleAllows(r, ActCredentialsAdmin) {
			builtin = append(builtin, []string{"role:" + strings.ToLower(string(r)), workspaceID, "*", "manage", gidBuiltin, ""})
		}
	}
	if _, err := e.AddPolicies(builtin); err != nil {
		return nil, err
	}
	return &policySet{version: version, enforcer: e, members: members}, nil
}

func userSubject(userID string) string {
	return "user:" + base64.RawURLEncoding.EncodeToString([]byte(userID))
}

func credObject(credentialID string) string { return "cred:" + credentialID }

func encodeMeta(by string, at time.Time) string {
	return base64.RawURLEncoding.EncodeToString([]byte(by)) + "." + strconv.FormatInt(at.UnixMilli(), 10)
}

func ruleToGrant(r []string) (Grant, bool) {
	if len(r) < 6 || r[4] == gidOwner || r[4] == gidBuiltin || !strings.HasPrefix(r[2], "cred:") {
		return Grant{}, false
	}
	g := Grant{ID: r[4], Level: levelOfAction(r[3]), Kind: GranteeWorkspace}
	if sub, ok := strings.CutPrefix(r[0], "user:"); ok {
		uid, err := base64.RawURLEncoding.DecodeString(sub)
		if err != nil {
			return Grant{}, false
		}
		g.Kind, g.UserID = GranteeUser, string(uid)
	}
	if by, at, ok := strings.Cut(r[5], "."); ok {
		if b, err := base64.RawURLEncoding.DecodeString(by); err == nil {
			g.GrantedBy = string(b)
		}
		if ms, err := strconv.ParseInt(at, 10, 64); err == nil {
			g.GrantedAt = time.UnixMilli(ms).UTC()
		}
	}
	return g, true
}

// requestCache holds, for one request, the policy sets it decided with and the
// levels it computed, so a page of credentials costs one version read per
// workspace and one decision per credential, however many fields ask.
type requestCache struct {
	mu     sync.Mutex
	sets   map[string]*policySet
	levels map[string]Level
}

type requestCacheKey struct{}

// WithRequestCache returns ctx with an empty per-request authorization cache.
func WithRequestCache(ctx context.Context) context.Context {
	return context.WithValue(ctx, requestCacheKey{}, &requestCache{sets: map[string]*policySet{}, levels: map[string]Level{}})
}

// requestCacheFrom returns the request's cache; without one, a throwaway cache
// (decisions are then not shared, but still correct).
func requestCacheFrom(ctx context.Context) *requestCache {
	if rc, ok := ctx.Value(requestCacheKey{}).(*requestCache); ok {
		return rc
	}
	return &requestCache{sets: map[string]*policySet{}, levels: map[string]Level{}}
}

func (c *requestCache) set(ws string) *policySet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sets[ws]
}

func (c *requestCache) putSet(ws string, s *policySet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sets[ws] = s
}

func (c *requestCache) level(key string) (Level, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.levels[key]
	return l, ok
}

func (c *requestCache) setLevel(key string, l Level) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.levels[key] = l
}

// forget drops what the request knew of a workspace after it changed the rules.
func (c *requestCache) forget(ws string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.sets, ws)
	for k := range c.levels {
		if strings.HasPrefix(k, ws+"/") {
			delete(c.levels, k)
		}
	}
}
