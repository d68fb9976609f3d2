package authz

// Level is a principal's access to one credential; each level includes the ones below.
type Level int

// Access levels (SPEC.md §2).
const (
	LevelNone Level = iota
	LevelUse
	LevelView
	LevelManage
)

var levelNames = [...]string{"NONE", "USE", "VIEW", "MANAGE"}

// String returns the API name (USE, VIEW, MANAGE; NONE for no access).
func (l Level) String() string {
	if l < LevelNone || l > LevelManage {
		return "NONE"
	}
	return levelNames[l]
}

// ParseLevel maps an API name to a Level (LevelNone when unknown).
func ParseLevel(s string) Level {
	for i, n := range levelNames {
		if n == s {
			return Level(i)
		}
	}
	return LevelNone
}

// action is the Casbin action of a level.
func (l Level) action() string {
	switch l {
	case LevelUse:
		return "use"
	case LevelView:
		return "view"
	case LevelManage:
		return "manage"
	}
	return ""
}

func levelOfAction(a string) Level {
	switch a {
	case "use":
		return LevelUse
	case "view":
		return LevelView
	case "manage":
		return LevelManage
	}
	return LevelNone
}
