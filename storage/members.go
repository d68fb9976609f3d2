package storage

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// Member is a user's membership of a workspace. Its _id is "workspaceId:userId",
// so the membership check on every request is one _id lookup.
type Member struct {
	ID          string    `bson:"_id"`
	WorkspaceID string    `bson:"workspaceId"`
	UserID      string    `bson:"userId"`
	Role        string    `bson:"role"`
	AddedAt     time.Time `bson:"addedAt"`
	UpdatedAt   time.Time `bson:"updatedAt"`
}

// MemberID is the _id of a membership.
func MemberID(workspaceID, userID string) string { return workspaceID + ":" + userID }

// Member returns one membership, or ErrNotFound.
func (s *Store) Member(ctx context.Context, workspaceID, userID string) (Member, error) {
	var m Member
	if err := one(s.col(colMembers).FindOne(ctx, bson.M{"_id": MemberID(workspaceID, userID)}), &m, "find member"); err != nil {
		return Member{}, err
	}
	return m, nil
}

// InsertMember adds a membership; ErrConflict if the user is already a member.
func (s *Store) InsertMember(ctx context.Context, m Member) error {
	m.ID = MemberID(m.WorkspaceID, m.UserID)
	if _, err := s.col(colMembers).InsertOne(ctx, m); err != nil {
		if isDuplicateKey(err) {
			return ErrConflict
		}
		return fmt.Errorf("insert member: %w", err)
	}
	return nil
}

// SetMemberRole changes a member's role and returns the membership as it now is.
func (s *Store) SetMemberRole(ctx context.Context, workspaceID, userID, role string, now time.Time) (Member, error) {
	id := MemberID(workspaceID, userID)
	var m Member
	if err := one(s.col(colMembers).FindOneAndUpdate(ctx, bson.M{"_id": id},
		bson.M{"$set": bson.M{"role": role, "updatedAt": now}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)), &m, "set member role"); err != nil {
		return Member{}, err
	}
	return m, nil
}

// DeleteMember removes a membership; ErrNotFound if there is none.
func (s *Store) DeleteMember(ctx context.Context, workspaceID, userID string) error {
	res, err := s.col(colMembers).DeleteOne(ctx, bson.M{"_id": MemberID(workspaceID, userID)})
	if err != nil {
		return fmt.Errorf("delete member: %w", err)
	}
	if res.DeletedCount == 0 {
		return ErrNotFound
	}
	return nil
}

// MembersOf lists a workspace's members in the order they were added.
func (s *Store) MembersOf(ctx context.Context, workspaceID string) ([]Member, error) {
	return s.findMembers(ctx, bson.M{"workspaceId": workspaceID})
}

// MembershipsOf lists the memberships of a user.
func (s *Store) MembershipsOf(ctx context.Context, userID string) ([]Member, error) {
	return s.findMembers(ctx, bson.M{"userId": userID})
}

func (s *Store) findMembers(ctx context.Context, filter bson.M) ([]Member, error) {
	var out []Member
	if err := s.all(ctx, colMembers, filter, &out, "find members",
		options.Find().SetSort(bson.D{{Key: "addedAt", Value: 1}, {Key: "_id", Value: 1}})); err != nil {
		return nil, err
	}
	return out, nil
}

// MemberRoles returns user id → role for a workspace's members.
func (s *Store) MemberRoles(ctx context.Context, workspaceID string) (map[string]string, error) {
	ms, err := s.MembersOf(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ms))
	for _, m := range ms {
		out[m.UserID] = m.Role
	}
	return out, nil
}
