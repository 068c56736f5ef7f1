package pipeline

import (
	"reflect"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/decode"
)

// TestConfigOptions: each setting of the configuration's sections reaches
// its option, and the defaults of DefaultConfig are those New takes for
// options left zero.
func TestConfigOptions(t *testing.T) {
	cfg := Config{
		Aggregation: Aggregation{TopK: 1, MaxObjectCells: 2, MaxLearnedInterfaces: 3, MaxLearnedAddresses: 4},
		Batch:       Batch{MaxObjects: 5, MaxBytes: 6, MaxWait: 7 * time.Second, MaxCells: 8},
	}
	want := Options{TopK: 1, MaxObjectCells: 2, MaxInterfaces: 3, MaxAddresses: 4, MaxObjects: 5, MaxBytes: 6, MaxWait: 7 * time.Second, MaxBatchCells: 8}
	if got := cfg.Options(); !reflect.DeepEqual(got, want) {
		t.Errorf("Options() = %+v, want %+v", got, want)
	}
	var zero Options
	zero.setDefaults()
	def := DefaultConfig().Options()
	def.setDefaults()
	if !reflect.DeepEqual(def, zero) {
		t.Errorf("DefaultConfig's options %+v, New's defaults %+v", def, zero)
	}
	if d := DefaultConfig().Decode; d.MaxObjectBytes != decode.DefaultMaxObjectBytes || d.MaxExpansion != decode.DefaultMaxExpansion {
		t.Errorf("decode defaults %+v", d)
	}
}
