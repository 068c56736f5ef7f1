package reporttest

import (
	"time"

	"github.com/vpcflow/vpcflow/schema"
)

// MaxStep returns the longest step of the families (schema.Family.Step).
func MaxStep() time.Duration {
	var s time.Duration
	for _, f := range schema.Families() {
		s = max(s, f.Step)
	}
	return s
}
