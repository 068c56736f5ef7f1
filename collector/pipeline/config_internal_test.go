package pipeline

import (
	"reflect"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/decode"
)

// TestConfigOptions: each setting of the configuration's sections reaches
// its option, and the defaults of DefaultConfig are those New takes for
// options left zero, but for overload.max_lag: zero options never pause a
// source (tests and tools building a pipeline), the configuration's
// default does after DefaultMaxLag.
func TestConfigOptions(t *testing.T) {
	cfg := Config{
		Aggregation: Aggregation{TopK: 1, MaxObjectCells: 2, MaxLearnedInterfaces: 3, MaxLearnedAddresses: 4},
		Batch:       Batch{MaxObjects: 5, MaxBytes: 6, MaxWait: 7 * time.Second, MaxCells: 8},
		Overload:    Overload{MaxLag: 9 * time.Minute},
		Limits:      Limits{MaxSources: 10, MaxExporters: 11},
	}
	want := Options{TopK: 1, MaxObjectCells: 2, MaxInterfaces: 3, MaxAddresses: 4, MaxObjects: 5, MaxBytes: 6, MaxWait: 7 * time.Second, MaxBatchCells: 8,
		MaxLag: 9 * time.Minute, MaxSources: 10, MaxExporters: 11}
	if got := cfg.Options(); !reflect.DeepEqual(got, want) {
		t.Errorf("Options() = %+v, want %+v", got, want)
	}
	var zero Options
	zero.setDefaults()
	def := DefaultConfig().Options()
	def.setDefaults()
	if def.MaxLag != DefaultMaxLag {
		t.Errorf("DefaultConfig's max lag %v, want %v", def.MaxLag, DefaultMaxLag)
	}
	def.MaxLag = 0
	if !reflect.DeepEqual(def, zero) {
		t.Errorf("DefaultConfig's options %+v, New's defaults %+v", def, zero)
	}
	if d := DefaultConfig().Decode; d.MaxObjectBytes != decode.DefaultMaxObjectBytes || d.MaxExpansion != decode.DefaultMaxExpansion {
		t.Errorf("decode defaults %+v", d)
	}
}
