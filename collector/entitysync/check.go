package entitysync

import (
	"context"
	"fmt"
	"time"

	"github.com/vpcflow/vpcflow/collector/awssync"
)

// Check asks EC2 whether the target's credentials may call each Describe
// action the sync needs, with DryRun requests that describe nothing
// (awssync.Syncer.CheckPermissions), bounded by timeout. It returns the
// missing permissions, each with what reports lose without it, and an
// error when the check could not be made (credentials that do not
// resolve, an endpoint that does not answer).
func (c Config) Check(ctx context.Context, t Target, timeout time.Duration) ([]awssync.Missing, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s, err := awssync.New(ctx, c.syncer(t))
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", t, t.From, err)
	}
	return s.CheckPermissions(ctx)
}
