package pipeline

import (
	"time"

	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
)

// Config is the pipeline's part of the collector's configuration: its
// sections aggregation, decode, batch, overload and limits. Options turns
// it into the pipeline's Options; decode bounds every source's objects
// (NewSources).
type Config struct {
	Aggregation Aggregation    `yaml:"aggregation"`
	Decode      decode.Options `yaml:"decode"`
	Batch       Batch          `yaml:"batch"`
	Overload    Overload       `yaml:"overload"`
	Limits      Limits         `yaml:"limits"`
}

// Overload says when the collector cannot keep up (docs/pipeline.md,
// Overload and limits).
type Overload struct {
	// MaxLag bounds how old a source's oldest waiting object (listed, not
	// yet ingested; the time its key names, else its modification time)
	// may be when the source is listed: beyond it, the most recently
	// added source still collected (the last in the configuration) is
	// paused, status unresourced, one per round, so that the older ones
	// stay fresh; once every source still collected waits less than half
	// of it, the most recently paused resumes. 0 turns this off; default
	// DefaultMaxLag. A run with --once never pauses.
	MaxLag time.Duration `yaml:"max_lag"`
}

// Limits bound what the collector takes on; 0 (the default) is no limit.
type Limits struct {
	// MaxSources bounds the enabled sources collected: the ones after the
	// first MaxSources enabled ones of the configuration are left out,
	// status disabled_limit ("disabled (limit)").
	MaxSources int `yaml:"max_sources"`
	// MaxExporters bounds the exporters (VPCs, by account, region and VPC
	// id) whose records are counted: the first MaxExporters VPCs the
	// collector met are; the records of the others (the last added) are
	// dropped, counted in vpcflow_collector_records_dropped_total, and
	// the VPC shows status disabled_limit in /api/v1/sources.
	MaxExporters int `yaml:"max_exporters"`
}

// Aggregation tunes the metric families.
type Aggregation struct {
	// TopK bounds the src, dst, app, pair and app_total families: per VPC,
	// action and hour, the label sets kept are the TopK largest of the hour
	// before and the TopK largest of the first batch with data for the hour
	// (docs/pipeline.md, Bounded families); the rest folds into "other",
	// so that totals stay exact. 0 keeps every label set (no folding: the
	// series then grow with every peer address). Default DefaultTopK.
	TopK int `yaml:"top_k"`
	// MaxObjectCells bounds one object's aggregate, in cells (a label set
	// of a family in a minute, about 270 bytes at peak): an object over it
	// is quarantined, decoding stopped there. Default
	// DefaultMaxObjectCells.
	MaxObjectCells int `yaml:"max_object_cells"`
	// MaxLearnedInterfaces and MaxLearnedAddresses bound what the
	// collector remembers of interfaces (VPC, subnet, AZ, instance) and of
	// the addresses they own (pair owners), forgetting the least recently
	// seen beyond. Defaults DefaultMaxInterfaces and DefaultMaxAddresses.
	MaxLearnedInterfaces int `yaml:"max_learned_interfaces"`
	MaxLearnedAddresses  int `yaml:"max_learned_addresses"`
}

// Batch says how many objects are merged into one write.
type Batch struct {
	// MaxObjects per batch; default DefaultMaxObjects.
	MaxObjects int `yaml:"max_objects"`
	// MaxBytes bounds the stored size of a batch's objects (a larger object
	// makes a batch of its own); default DefaultMaxBytes. A batch's memory
	// grows with its records.
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxWait is how long a batch waits for more objects once it has one,
	// and the pause between listings when there is nothing to do; default
	// DefaultMaxWait.
	MaxWait time.Duration `yaml:"max_wait"`
	// MaxCells bounds a batch's aggregate, in cells: the batch closes
	// before the object that would take it over. Default
	// DefaultMaxBatchCells.
	MaxCells int `yaml:"max_cells"`
}

// Defaults of Config and Options (the memory bounds are in limits.go).
const (
	DefaultTopK       = 20
	DefaultMaxObjects = 16
	DefaultMaxBytes   = 4 << 20
	DefaultMaxWait    = sourcestate.DefaultMaxWait
	DefaultMaxLag     = 30 * time.Minute
)

// DefaultConfig returns the defaults of Config, which New also takes for
// the options left zero.
func DefaultConfig() Config {
	return Config{
		Aggregation: Aggregation{TopK: DefaultTopK, MaxObjectCells: DefaultMaxObjectCells,
			MaxLearnedInterfaces: DefaultMaxInterfaces, MaxLearnedAddresses: DefaultMaxAddresses},
		Decode:   decode.Options{MaxObjectBytes: decode.DefaultMaxObjectBytes, MaxExpansion: decode.DefaultMaxExpansion},
		Batch:    Batch{MaxObjects: DefaultMaxObjects, MaxBytes: DefaultMaxBytes, MaxWait: DefaultMaxWait, MaxCells: DefaultMaxBatchCells},
		Overload: Overload{MaxLag: DefaultMaxLag},
	}
}

// Options returns the pipeline options the configuration sets; the
// others (workers, logger, clock) are the caller's.
func (c Config) Options() Options {
	topK := c.Aggregation.TopK
	if topK == 0 {
		topK = TopKAll
	}
	return Options{TopK: topK, MaxObjects: c.Batch.MaxObjects, MaxBytes: c.Batch.MaxBytes, MaxWait: c.Batch.MaxWait,
		MaxObjectCells: c.Aggregation.MaxObjectCells, MaxBatchCells: c.Batch.MaxCells,
		MaxInterfaces: c.Aggregation.MaxLearnedInterfaces, MaxAddresses: c.Aggregation.MaxLearnedAddresses,
		MaxLag: c.Overload.MaxLag, MaxSources: c.Limits.MaxSources, MaxExporters: c.Limits.MaxExporters}
}
