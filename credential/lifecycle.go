package credential

import (
	"time"

	"credkeep/internal/apierror"
	"credkeep/storage"
)

// Expiry and rotation due (SPEC.md §12).

// MaxRotationPeriodDays bounds a credential's rotation period (ten years).
const MaxRotationPeriodDays = 3650

// DefaultExpiryWarning is how long before its expiry a credential is
// expiring soon (CREDKEEP_EXPIRY_WARNING).
const DefaultExpiryWarning = 336 * time.Hour

// SetExpiryWarning sets how long before its expiry a credential reads as
// expiring soon. Call it before the Service is used.
func (s *Service) SetExpiryWarning(d time.Duration) { s.expiryWarning = d }

// ExpiringSoon reports a credential that has not expired yet and will within
// the expiry warning.
func (s *Service) ExpiringSoon(v View) bool {
	return expiringWithin(v.Credential, s.now(), s.warning())
}

func (s *Service) warning() time.Duration {
	if s.expiryWarning == 0 {
		return DefaultExpiryWarning
	}
	return s.expiryWarning
}

func expiringWithin(c storage.Credential, now time.Time, d time.Duration) bool {
	return c.ExpiresAt != nil && c.ExpiresAt.After(now) && !c.ExpiresAt.After(now.Add(d))
}

// RotationDueAt is when a credential's secrets are due for rotation: its
// last change of secret values plus its rotation period (nil without one).
func RotationDueAt(c storage.Credential) *time.Time {
	if c.RotationPeriodDays <= 0 {
		return nil
	}
	last, _, _ := c.SecretsChange()
	due := last.Add(time.Duration(c.RotationPeriodDays) * 24 * time.Hour)
	return &due
}

// rotationDue reports a credential whose rotation is due at now.
func rotationDue(c storage.Credential, now time.Time) bool {
	due := RotationDueAt(c)
	return due != nil && !due.After(now)
}

// validRotationPeriod checks a rotation period given in an input (nil: none given).
func validRotationPeriod(days *int) *apierror.Error {
	if days == nil || (*days >= 1 && *days <= MaxRotationPeriodDays) {
		return nil
	}
	return apierror.InvalidBecause("rotationPeriodDays", apierror.ReasonOutOfRange, map[string]any{"min": 1, "max": MaxRotationPeriodDays},
		"rotationPeriodDays must be between 1 and %d", MaxRotationPeriodDays)
}
