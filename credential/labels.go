package credential

import (
	"regexp"
	"slices"

	"credkeep/internal/apierror"
	"credkeep/internal/names"
)

// Limits of a credential's description and tags (SPEC.md §9).
const (
	MaxDescriptionLen = 500
	MaxTags           = 20
)

// tagPattern is a tag: lower case, digits and _ . : - (e.g. env:prod).
var tagPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.:-]{0,39}$`)

// validateLabels checks a description and tags (nil: not given) and returns
// them cleaned: the description trimmed and NFC, the tags sorted.
func validateLabels(description *string, tags []string) (string, []string, []*apierror.Error) {
	var errs []*apierror.Error
	var desc string
	if description != nil {
		var err error
		desc, err = names.Text("description", *description, MaxDescriptionLen, false)
		errs, _ = apierror.Collect(errs, err) // names.Text fails only with client errors
	}
	if tags == nil {
		return desc, nil, errs
	}
	if len(tags) > MaxTags {
		return desc, nil, append(errs, apierror.InvalidBecause("tags", apierror.ReasonOutOfRange, map[string]any{"max": MaxTags},
			"Tags: a credential has at most %d", MaxTags))
	}
	out := slices.Clone(tags)
	slices.Sort(out)
	for i, tag := range out {
		switch {
		case !tagPattern.MatchString(tag):
			return desc, nil, append(errs, apierror.InvalidBecause("tags", apierror.ReasonInvalidFormat, map[string]any{"pattern": tagPattern.String()},
				"Tags are 1 to 40 of a-z, 0-9, '_', '.', ':' or '-', starting with a letter or digit"))
		case i > 0 && out[i-1] == tag:
			return desc, nil, append(errs, apierror.InvalidBecause("tags", apierror.ReasonDuplicate, map[string]any{"tag": tag},
				"Tags: %s is given twice", tag))
		}
	}
	return desc, out, errs
}
