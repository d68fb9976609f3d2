package authz

import "testing"

func TestRoleRules(t *testing.T) {
	if !RoleAllows(RoleOwner, ActWorkspaceDelete) || RoleAllows(RoleAdmin, ActWorkspaceDelete) || RoleAllows(RoleMember, ActWorkspaceRename) {
		t.Error("role table wrong")
	}
	cases := []struct {
		actor, from, to Role
		ok              bool
	}{
		{RoleOwner, "", RoleOwner, true},
		{RoleAdmin, "", RoleOwner, false},
		{RoleAdmin, "", RoleAdmin, true},
		{RoleAdmin, RoleOwner, RoleMember, false},
		{RoleAdmin, RoleMember, "", true},
		{RoleAdmin, RoleOwner, "", false},
		{RoleMember, RoleMember, "", false},
		{RoleOwner, RoleOwner, "", true},
	}
	for _, c := range cases {
		if got := CanChangeMembership(c.actor, c.from, c.to); got != c.ok {
			t.Errorf("CanChangeMembership(%s, %q, %q) = %v, want %v", c.actor, c.from, c.to, got, c.ok)
		}
	}
}
