package credential_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"credkeep/audit"
	"credkeep/authn"
	"credkeep/coherence"
	"credkeep/credential"
	"credkeep/internal/names"
	"credkeep/internal/pagination"
	"credkeep/internal/redact"
	"credkeep/storage"
	"credkeep/usecount"
)

// listNames lists every credential of "ws" through the service, in its order.
func listNames(t *testing.T, ctx context.Context, svc *credential.Service) []string {
	t.Helper()
	return listNamesIn(t, ctx, svc, "ws")
}

// listNamesIn lists every credential of a workspace through the service, in its order.
func listNamesIn(t *testing.T, ctx context.Context, svc *credential.Service, ws string) []string {
	t.Helper()
	first := 200
	page, err := svc.List(ctx, credential.ListInput{WorkspaceID: ws, Page: pagination.Args{First: &first}})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(page.Items))
	for i, v := range page.Items {
		out[i] = v.Credential.Name
	}
	return out
}

// TestListFollowsThisInstancesWritesByID: after a write of this instance, the
// list is brought to the new version by reading the written credential alone
// (a credential slipped into the database behind the service's back, with no
// version move, stays unseen until then), in the right order; a version this
// instance did not make reads the list whole again, and so does a write whose
// version move failed.
func TestListFollowsThisInstancesWritesByID(t *testing.T) {
	f := newFaulty(t)
	svc, raw, faults := f.svc, f.raw, f.faults
	ctx := authn.WithPrincipal(context.Background(), &authn.Principal{UserID: "alice"})
	create := func(name string) string {
		v, err := svc.Create(ctx, credential.CreateInput{WorkspaceID: "ws", Type: "api_key", Name: name,
			Fields: []credential.FieldInput{{Key: "apiKey", Value: redact.New("key-of-" + name + "-0123456789")}}})
		if err != nil {
			t.Fatal(err)
		}
		return v.Credential.ID
	}
	var want []string
	ids := map[string]string{}
	for i := range 12 {
		name := fmt.Sprintf("cred-%02d", i)
		ids[name] = create(name)
		want = append(want, name)
	}
	check := func(step string, want []string) {
		t.Helper()
		if got := listNames(t, ctx, svc); !slices.Equal(got, want) {
			t.Fatalf("%s: list %v, want %v", step, got, want)
		}
	}
	check("after creating", want)

	// Behind the service's back: no version moves, so only a whole read finds it.
	now := time.Now()
	if err := raw.InsertCredential(context.Background(), storage.Credential{ID: "sneaky", WorkspaceID: "ws", Name: "cred-05b",
		NameKey: names.FoldKey("cred-05b"), Type: "api_key", OwnerID: "alice", Fields: map[string]string{}, Version: 1,
		CreatedAt: now, UpdatedAt: now}, nil); err != nil {
		t.Fatal(err)
	}
	finds := faults.Count("find", "credentials")

	// Moves in the order: renamed from the front to the back.
	renamed := "zz-renamed"
	if _, err := svc.Update(ctx, credential.UpdateInput{ID: ids["cred-00"], Name: &renamed}); err != nil {
		t.Fatal(err)
	}
	want = append(slices.Delete(slices.Clone(want), 0, 1), renamed)
	check("after a rename", want)
	if err := svc.Delete(ctx, ids["cred-07"], true); err != nil {
		t.Fatal(err)
	}
	want = slices.DeleteFunc(want, func(n string) bool { return n == "cred-07" })
	check("after a delete", want)
	create("cred-03a")
	want = append(want, "cred-03a")
	slices.SortFunc(want, func(a, b string) int { return strings.Compare(names.FoldKey(a), names.FoldKey(b)) })
	check("after a create", want)
	// Three writes and three lists: the credential written read back by _id
	// (a write itself reads its credential once), never the workspace whole.
	if n := faults.Count("find", "credentials") - finds; n > 6 {
		t.Errorf("%d finds on credentials for three writes and three lists: the list was read whole", n)
	}

	// A version this instance did not make (another instance's write): read whole.
	if _, err := raw.BumpWorkspaceVersion(context.Background(), "ws", storage.DataVersion); err != nil {
		t.Fatal(err)
	}
	if err := raw.BumpEpoch(context.Background(), storage.EpochData); err != nil {
		t.Fatal(err)
	}
	withSneaky := append(slices.Clone(want), "cred-05b")
	slices.SortFunc(withSneaky, func(a, b string) int { return strings.Compare(names.FoldKey(a), names.FoldKey(b)) })
	check("after another instance's version", withSneaky)

	// A write whose version move fails: the list must not stay as it was.
	faults.Fail("findAndModify", "workspaces")
	renamed2 := "aa-first"
	if _, err := svc.Update(ctx, credential.UpdateInput{ID: ids["cred-01"], Name: &renamed2}); err != nil {
		t.Fatal(err)
	}
	if faults.Count("findAndModify", "workspaces") == 0 {
		t.Fatal("the version move was never attempted: the test proves nothing")
	}
	withSneaky = append([]string{renamed2}, slices.DeleteFunc(withSneaky, func(n string) bool { return n == "cred-01" })...)
	check("after a write whose version move failed", withSneaky)
	faults.Heal()
}

// TestNewWorkspaceListReadsNoCredential: on the embedded database the list
// of a workspace this instance created is known empty, so its first page
// reads no credential (a list missing there is a read of every credential of
// the database), and its first credential reaches it by _id.
func TestNewWorkspaceListReadsNoCredential(t *testing.T) {
	f := newFaulty(t)
	ctx := authn.WithPrincipal(context.Background(), &authn.Principal{UserID: "alice"})
	if _, err := f.svc.Create(ctx, credential.CreateInput{WorkspaceID: "ws", Type: "api_key", Name: "elsewhere",
		Fields: []credential.FieldInput{{Key: "apiKey", Value: redact.New("key-of-elsewhere-0123456789")}}}); err != nil {
		t.Fatal(err)
	}
	const ws = "ws-new"
	now := time.Now()
	if err := f.store.CreateDataKey(ctx, ws); err != nil {
		t.Fatal(err)
	}
	if err := f.store.InsertWorkspace(ctx, storage.Workspace{ID: ws, Name: "new", Owners: []string{"alice"}, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.InsertMember(ctx, storage.Member{WorkspaceID: ws, UserID: "alice", Role: "OWNER", AddedAt: now}); err != nil {
		t.Fatal(err)
	}
	reads := f.faults.Count("find", "credentials")
	if got := listNamesIn(t, ctx, f.svc, ws); len(got) != 0 {
		t.Fatalf("a new workspace lists %v", got)
	}
	if n := f.faults.Count("find", "credentials") - reads; n != 0 {
		t.Fatalf("the first page of a new workspace read the credentials %d times, want 0", n)
	}
	if _, err := f.svc.Create(ctx, credential.CreateInput{WorkspaceID: ws, Type: "api_key", Name: "its first",
		Fields: []credential.FieldInput{{Key: "apiKey", Value: redact.New("key-of-its-first-0123456789")}}}); err != nil {
		t.Fatal(err)
	}
	reads = f.faults.Count("find", "credentials")
	if got := listNamesIn(t, ctx, f.svc, ws); !slices.Equal(got, []string{"its first"}) {
		t.Fatalf("after its first credential the new workspace lists %v", got)
	}
	if n := f.faults.Count("find", "credentials") - reads; n != 1 {
		t.Fatalf("its first credential took %d reads of the credentials to reach the list, want 1 (by _id)", n)
	}
}

// TestManyWritesReadEveryListOnce: on the embedded database a list behind by
// more writes of this instance than are worth reading one by one is brought
// up with one read of every list, which brings the other workspaces' up too;
// a few writes are still read by _id.
func TestManyWritesReadEveryListOnce(t *testing.T) {
	f := newFaulty(t)
	ctx := authn.WithPrincipal(context.Background(), &authn.Principal{UserID: "alice"})
	create := func(n int, prefix string) {
		t.Helper()
		for i := range n {
			name := fmt.Sprintf("%s-%03d", prefix, i)
			if _, err := f.svc.Create(ctx, credential.CreateInput{WorkspaceID: "ws", Type: "api_key", Name: name,
				Fields: []credential.FieldInput{{Key: "apiKey", Value: redact.New("key-of-" + name + "-0123456789")}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	finds := func(step string, n int, want int) {
		t.Helper()
		before := f.faults.Count("find", "credentials")
		if got := listNames(t, ctx, f.svc); len(got) != n {
			t.Fatalf("%s: %d listed, want %d", step, len(got), n)
		}
		if got := f.faults.Count("find", "credentials") - before; got != want {
			t.Fatalf("%s: %d reads of the credentials, want %d", step, got, want)
		}
	}
	create(1, "first")
	finds("the first list", 1, 1)
	create(3, "few")
	finds("after three writes", 4, 3)
	create(70, "many")
	finds("after seventy writes", 74, 1)
}

// TestCreatedCredentialIsCachedAtItsFirstRead: the workspace of a credential
// this instance wrote is known, so its first read caches it: three reads, one
// find of the credential (before, the first read could not be cached and the
// second read again). Another instance's write still reaches the next read,
// by the workspace's version.
func TestCreatedCredentialIsCachedAtItsFirstRead(t *testing.T) {
	f := newFaulty(t)
	ctx := authn.WithPrincipal(context.Background(), &authn.Principal{UserID: "alice"})
	v, err := f.svc.Create(ctx, credential.CreateInput{WorkspaceID: "ws", Type: "api_key", Name: "first",
		Fields: []credential.FieldInput{{Key: "apiKey", Value: redact.New("key-of-first-0123456789")}}})
	if err != nil {
		t.Fatal(err)
	}
	id := v.Credential.ID
	finds := f.faults.Count("find", "credentials")
	for range 3 {
		got, err := f.svc.Get(ctx, id)
		if err != nil || got.Credential.Name != "first" {
			t.Fatalf("read: %+v, %v", got.Credential, err)
		}
	}
	if n := f.faults.Count("find", "credentials") - finds; n != 1 {
		t.Errorf("three reads of a credential created here found it %d times, want 1", n)
	}

	// Another instance renames it (its version move reaches this one's reads).
	other := credential.NewService(coherence.Wrap(f.raw, time.Now, slog.New(slog.DiscardHandler)), usecount.New(f.raw, slog.New(slog.DiscardHandler)),
		nil, f.authz, audit.NewLog(f.raw, time.Now, func(context.Context, string, error) {}), nil, time.Now, slog.New(slog.DiscardHandler))
	renamed := "renamed elsewhere"
	if _, err := other.Update(ctx, credential.UpdateInput{ID: id, Name: &renamed}); err != nil {
		t.Fatal(err)
	}
	if got, err := f.svc.Get(ctx, id); err != nil || got.Credential.Name != renamed {
		t.Fatalf("after another instance's rename: %q, %v", got.Credential.Name, err)
	}
}

// addSecondWorkspace adds a workspace "ws2", alice its owner too.
func addSecondWorkspace(t *testing.T, f faulty) {
	t.Helper()
	ctx := context.Background()
	if err := f.raw.CreateDataKey(ctx, "ws2"); err != nil {
		t.Fatal(err)
	}
	if err := f.raw.InsertWorkspace(ctx, storage.Workspace{ID: "ws2", Name: "ws2", Owners: []string{"alice"}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := f.raw.InsertMember(ctx, storage.Member{WorkspaceID: "ws2", UserID: "alice", Role: "OWNER", AddedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// TestOneReadServesEveryWorkspacesList: on a database with one writer, the
// first list of any workspace reads every workspace's credentials at once,
// so the second workspace's list costs no read; a later write there still
// moves its list (by the written credential).
func TestOneReadServesEveryWorkspacesList(t *testing.T) {
	f := newFaulty(t)
	ctx := context.Background()
	addSecondWorkspace(t, f)
	actx := authn.WithPrincipal(ctx, &authn.Principal{UserID: "alice"})
	create := func(ws, name string) {
		if _, err := f.svc.Create(actx, credential.CreateInput{WorkspaceID: ws, Type: "api_key", Name: name,
			Fields: []credential.FieldInput{{Key: "apiKey", Value: redact.New("key-of-" + name + "-0123456789")}}}); err != nil {
			t.Fatal(err)
		}
	}
	create("ws", "b-one")
	create("ws", "a-two")
	create("ws2", "c-three")
	finds := f.faults.Count("find", "credentials")
	if got := listNamesIn(t, actx, f.svc, "ws"); !slices.Equal(got, []string{"a-two", "b-one"}) {
		t.Fatalf("ws lists %v", got)
	}
	if got := listNamesIn(t, actx, f.svc, "ws2"); !slices.Equal(got, []string{"c-three"}) {
		t.Fatalf("ws2 lists %v", got)
	}
	if n := f.faults.Count("find", "credentials") - finds; n != 1 {
		t.Errorf("the lists of two workspaces took %d reads of the credentials, want 1", n)
	}
	create("ws2", "d-four")
	if got := listNamesIn(t, actx, f.svc, "ws2"); !slices.Equal(got, []string{"c-three", "d-four"}) {
		t.Fatalf("ws2 after a write lists %v", got)
	}
}

// TestWarmCacheReadsEveryListAhead: a service starting on existing data (a
// restart) that warms its cache reads every workspace's credentials once, and
// the first pages of its workspaces after that read none, each with its own
// credentials in order.
func TestWarmCacheReadsEveryListAhead(t *testing.T) {
	f := newFaulty(t)
	ctx := context.Background()
	addSecondWorkspace(t, f)
	actx := authn.WithPrincipal(ctx, &authn.Principal{UserID: "alice"})
	for _, c := range []struct{ ws, name string }{{"ws", "b-one"}, {"ws", "a-two"}, {"ws2", "c-three"}} {
		if _, err := f.svc.Create(actx, credential.CreateInput{WorkspaceID: c.ws, Type: "api_key", Name: c.name,
			Fields: []credential.FieldInput{{Key: "apiKey", Value: redact.New("key-of-" + c.name + "-0123456789")}}}); err != nil {
			t.Fatal(err)
		}
	}

	restarted := serviceOn(coherence.Wrap(f.raw, time.Now, slog.New(slog.DiscardHandler)), f.raw, f.authz)
	finds := f.faults.Count("find", "credentials")
	if err := restarted.WarmCache(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.faults.Count("find", "credentials") - finds; n != 1 {
		t.Errorf("warming took %d reads of the credentials, want 1", n)
	}
	finds = f.faults.Count("find", "credentials")
	for ws, want := range map[string][]string{"ws": {"a-two", "b-one"}, "ws2": {"c-three"}} {
		first := 50
		page, err := restarted.List(actx, credential.ListInput{WorkspaceID: ws, Page: pagination.Args{First: &first}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range page.Items {
			got = append(got, v.Credential.Name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s lists %v after warming, want %v", ws, got, want)
		}
	}
	if n := f.faults.Count("find", "credentials") - finds; n != 0 {
		t.Errorf("the first pages after warming took %d reads of the credentials, want 0", n)
	}
}
