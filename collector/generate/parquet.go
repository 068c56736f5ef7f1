package generate

import (
	"io"
	"reflect"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/vpcflow/vpcflow/collector/flowlog"
)

// parquetBatch is how many rows are handed to the Parquet writer at once.
const parquetBatch = 512

// parquetRowGroup bounds the rows of a row group, so that a big object does
// not build up in memory.
const parquetRowGroup = 128 << 10

// parquetWriter writes Parquet objects: a flat schema with one optional
// column per field, in the format's order, named like the field with '_'
// for '-'; numbers are INT32 or INT64, everything else a UTF-8 string.
// Pages are gzipped, as AWS does.
type parquetWriter struct {
	r       *renderer
	w       *parquet.GenericWriter[any]
	rows    []parquet.Row
	n       int
	scratch []byte
}

func newParquetWriter(r *renderer) *parquetWriter {
	cols := make(orderedGroup, len(r.fields))
	for i, f := range r.fields {
		var node parquet.Node
		switch f {
		case flowlog.Version, flowlog.SrcPort, flowlog.DstPort, flowlog.Protocol, flowlog.TCPFlags, flowlog.TrafficPath:
			node = parquet.Int(32)
		case flowlog.Packets, flowlog.Bytes, flowlog.Start, flowlog.End:
			node = parquet.Int(64)
		default:
			node = parquet.Encoded(parquet.String(), &parquet.RLEDictionary)
		}
		cols[i] = &column{Node: parquet.Optional(node), name: f.ParquetName()}
	}
	schema := parquet.NewSchema("flowlog", cols)
	w := parquet.NewGenericWriter[any](io.Discard, schema,
		parquet.Compression(&parquet.Gzip),
		parquet.MaxRowsPerRowGroup(parquetRowGroup),
		parquet.CreatedBy("vpcflow-generate", "1", ""),
	)
	pw := &parquetWriter{r: r, w: w, rows: make([]parquet.Row, parquetBatch)}
	for i := range pw.rows {
		pw.rows[i] = make(parquet.Row, len(r.fields))
	}
	return pw
}

func (w *parquetWriter) begin(out io.Writer) {
	w.w.Reset(out)
	w.n = 0
	w.scratch = w.scratch[:0]
}

func (w *parquetWriter) write(fl *flow) error {
	row := w.rows[w.n]
	for i, f := range w.r.fields {
		v := &row[i]
		switch {
		case !w.r.has(f, fl):
			*v = parquet.NullValue()
			v.SetColumnIndex(i)
			continue
		case f.Kind() == flowlog.KindUint:
			n := w.r.uintValue(f, fl)
			if f == flowlog.Packets || f == flowlog.Bytes || f == flowlog.Start || f == flowlog.End {
				*v = parquet.Int64Value(int64(n))
			} else {
				*v = parquet.Int32Value(int32(n))
			}
		default:
			start := len(w.scratch)
			w.scratch = w.r.appendValue(w.scratch, f, fl)
			*v = parquet.ByteArrayValue(w.scratch[start:len(w.scratch):len(w.scratch)])
		}
		v.SetDefinitionLevel(1)
		v.SetColumnIndex(i)
	}
	w.n++
	if w.n == len(w.rows) {
		return w.flush()
	}
	return nil
}

func (w *parquetWriter) flush() error {
	_, err := w.w.WriteRows(w.rows[:w.n])
	w.n = 0
	w.scratch = w.scratch[:0]
	return err
}

func (w *parquetWriter) end() (int64, error) {
	if err := w.flush(); err != nil {
		return 0, err
	}
	return 0, w.w.Close()
}

// orderedGroup is a Parquet group whose columns keep the order given,
// unlike parquet.Group, which sorts them by name: AWS writes the columns in
// the flow log format's order.
type orderedGroup []parquet.Field

func (g orderedGroup) ID() int                     { return 0 }
func (g orderedGroup) String() string              { return g.group().String() }
func (g orderedGroup) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g orderedGroup) Optional() bool              { return false }
func (g orderedGroup) Repeated() bool              { return false }
func (g orderedGroup) Required() bool              { return true }
func (g orderedGroup) Leaf() bool                  { return false }
func (g orderedGroup) Fields() []parquet.Field     { return g }
func (g orderedGroup) Encoding() encoding.Encoding { return nil }
func (g orderedGroup) Compression() compress.Codec { return nil }
func (g orderedGroup) GoType() reflect.Type        { return g.group().GoType() }
func (g orderedGroup) group() parquet.Group {
	m := make(parquet.Group, len(g))
	for _, f := range g {
		m[f.Name()] = f
	}
	return m
}

// column is a named column of an orderedGroup.
type column struct {
	parquet.Node
	name string
}

func (c *column) Name() string { return c.name }

// Value is only used by parquet-go to write Go values, which this package
// does not do.
func (c *column) Value(reflect.Value) reflect.Value { return reflect.Value{} }
