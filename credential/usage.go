package credential

import (
	"time"

	"credkeep/storage"
)

// Usage is a consumer of a credential (a bot, workflow, function or
// integration) and how it used the credential.
type Usage struct {
	Consumer   Consumer
	AttachedAt time.Time
	LastUsedAt *time.Time
	UseCount   int64
}

// Uses are a credential's use counters.
type Uses struct {
	UseCount   int64
	LastUsedAt *time.Time
}

// UsageID names a consumer of a credential in the API (the deleted id of
// detachCredential).
func UsageID(credentialID string, c Consumer) string {
	return storage.UsageID(credentialID, c.Kind, c.ID)
}

func toUsage(u storage.Usage) Usage {
	return Usage{Consumer: Consumer{Kind: u.ConsumerKind, ID: u.ConsumerID, Name: u.ConsumerName},
		AttachedAt: u.AttachedAt, LastUsedAt: u.LastUsedAt, UseCount: u.UseCount}
}

func toUsages(us []storage.Usage) []Usage {
	out := make([]Usage, len(us))
	for i, u := range us {
		out[i] = toUsage(u)
	}
	return out
}
