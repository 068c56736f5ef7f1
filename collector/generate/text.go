package generate

import (
	"io"

	"github.com/klauspost/compress/gzip"
)

// objectWriter writes the records of one object after another; it is
// reused from object to object.
type objectWriter interface {
	// begin starts an object written to out.
	begin(out io.Writer)
	// write adds a record.
	write(fl *flow) error
	// end finishes the object; it returns the bytes of text written
	// before compression (0 for Parquet).
	end() (int64, error)
}

// textFlushSize is how much text is built up before it is passed on.
const textFlushSize = 64 << 10

// textWriter writes text objects: a header line, then one line per record,
// gzipped unless plain.
type textWriter struct {
	r      *renderer
	gz     *gzip.Writer // nil for plain text
	dst    io.Writer
	header []byte
	buf    []byte
	text   int64
}

func newTextWriter(r *renderer, compress bool) *textWriter {
	w := &textWriter{r: r, buf: make([]byte, 0, textFlushSize+4096)}
	for i, f := range r.fields {
		if i > 0 {
			w.header = append(w.header, ' ')
		}
		w.header = append(w.header, f.String()...)
	}
	w.header = append(w.header, '\n')
	if compress {
		// Default compression, like AWS. The header has no name and no
		// modification time, so output depends on the records only.
		w.gz, _ = gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
	}
	return w
}

func (w *textWriter) begin(out io.Writer) {
	w.dst = out
	if w.gz != nil {
		w.gz.Reset(out)
		w.dst = w.gz
	}
	w.text = 0
	w.buf = append(w.buf[:0], w.header...)
}

func (w *textWriter) write(fl *flow) error {
	w.buf = w.r.appendLine(w.buf, fl)
	w.buf = append(w.buf, '\n')
	if len(w.buf) >= textFlushSize {
		return w.flush()
	}
	return nil
}

func (w *textWriter) flush() error {
	n, err := w.dst.Write(w.buf)
	w.text += int64(n)
	w.buf = w.buf[:0]
	return err
}

func (w *textWriter) end() (int64, error) {
	if err := w.flush(); err != nil {
		return w.text, err
	}
	if w.gz != nil {
		if err := w.gz.Close(); err != nil {
			return w.text, err
		}
	}
	return w.text, nil
}
