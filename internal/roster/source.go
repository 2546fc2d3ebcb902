package roster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// The encodings a roster file is read in.
const (
	UTF8    = "UTF-8"
	GB18030 = "GB18030"
	UTF16   = "UTF-16"
)

// Format is how a roster file was read: its encoding and its separator, found from its bytes and
// its header before any row is loaded.
type Format struct {
	Encoding  string // UTF8, GB18030 (which GBK is part of) or UTF16
	BOM       bool   // the file began with a byte order mark
	Separator byte   // ',', ';' or '\t'
}

// Notes say, for the operator, how the file differs from a comma-separated UTF-8 file and how it
// was read; none for such a file.
func (f Format) Notes() []string {
	var notes []string
	switch f.Encoding {
	case GB18030:
		notes = append(notes, "the file is not UTF-8: read as GB18030 (GBK), the encoding Excel on Chinese Windows saves CSV files in")
	case UTF16:
		notes = append(notes, "the file is UTF-16 (Excel's \"Unicode Text\"): read as such")
	}
	switch f.Separator {
	case ';':
		notes = append(notes, "the separator is a semicolon, not a comma: read with semicolons")
	case '\t':
		notes = append(notes, "the separator is a tab, not a comma: read with tabs")
	}
	return notes
}

// ErrEncoding refuses a file that is neither UTF-8 nor GB18030 text, before any row is loaded.
type ErrEncoding struct{ Line int }

func (e ErrEncoding) Error() string {
	return fmt.Sprintf("the file is neither UTF-8 nor GB18030 (GBK) text (line %d has bytes that are neither); "+
		"nothing was loaded: in Excel, choose Save As and the type \"CSV UTF-8 (Comma delimited)\"", e.Line)
}

const (
	sniffSize   = 1 << 20 // of a file that cannot be read twice, the head that decides its encoding
	maxLineSize = 1 << 20 // a longer line is refused
)

// source reads a roster file one physical line at a time, decoded to UTF-8. A row is one line: no
// roster field may hold a line break, so a quote left open is reported on its own line and
// reading goes on with the next, instead of swallowing the rest of the file.
type source struct {
	br     *bufio.Reader
	format Format
	line   int    // the number of the line last read
	long   []byte // a line longer than the buffer, put together
}

// openSource decides the encoding of r and reads its header. A file that can seek (an *os.File,
// a strings.Reader) is read through once first, so the whole file decides and a file in no
// encoding it knows is refused before any row is loaded; of a stream, the first MiB decides and
// a later line that is not text is refused on its own. The header's separator may be a comma, a
// semicolon or a tab.
func openSource(r io.Reader) (*source, map[string]int, error) {
	in, format, err := decide(r)
	if err != nil {
		return nil, nil, err
	}
	switch format.Encoding {
	case GB18030:
		in = transform.NewReader(in, simplifiedchinese.GB18030.NewDecoder())
	case UTF16:
		in = transform.NewReader(in, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder())
	}
	s := &source{br: bufio.NewReaderSize(in, 64<<10), format: format}
	header, err := s.next()
	if errors.Is(err, io.EOF) {
		return nil, nil, errors.New("read header: the file is empty")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read header: %w", err)
	}
	header = strings.TrimPrefix(header, "\ufeff")
	var firstErr error
	for _, sep := range []byte{',', ';', '\t'} {
		fields, problem := splitLine(header, sep, nil)
		if problem != "" {
			continue
		}
		idx, err := columnIndex(fields)
		if err == nil {
			s.format.Separator = sep
			return s, idx, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("header: cannot read line %d as comma-separated values", s.line)
	}
	return nil, nil, firstErr
}

// decide finds the encoding of r and returns r positioned after a UTF-8 byte order mark.
func decide(r io.Reader) (io.Reader, Format, error) {
	if rs, ok := r.(io.ReadSeeker); ok {
		start, err := rs.Seek(0, io.SeekCurrent)
		if err == nil {
			format, err := decideWhole(rs, start)
			if err != nil {
				return nil, Format{}, err
			}
			if _, err := rs.Seek(start, io.SeekStart); err != nil {
				return nil, Format{}, fmt.Errorf("read file: %w", err)
			}
			return afterBOM(rs, format)
		}
	}
	br := bufio.NewReaderSize(r, sniffSize)
	head, err := br.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, Format{}, fmt.Errorf("read file: %w", err)
	}
	whole := err != nil // the head is the whole file
	if !whole {
		if i := bytes.LastIndexByte(head, '\n'); i >= 0 { // whole lines only: neither encoding splits a line feed
			head = head[:i+1]
		}
	}
	format, err := decideWhole(bytes.NewReader(head), 0)
	if err != nil {
		return nil, Format{}, err
	}
	return afterBOM(br, format)
}

// afterBOM skips a UTF-8 byte order mark; the UTF-16 decoder reads its own.
func afterBOM(r io.Reader, f Format) (io.Reader, Format, error) {
	if f.Encoding == UTF8 && f.BOM {
		if _, err := io.ReadFull(r, make([]byte, 3)); err != nil {
			return nil, Format{}, fmt.Errorf("read file: %w", err)
		}
	}
	return r, f, nil
}

// decideWhole reads r to its end: UTF-16 when it starts with that byte order mark, UTF-8 when
// every byte after a possible UTF-8 mark is, else GB18030 when every byte is that, else
// ErrEncoding. It seeks back to start for a second look when the first finds no UTF-8.
func decideWhole(r io.ReadSeeker, start int64) (Format, error) {
	var bom [3]byte
	n, err := io.ReadFull(r, bom[:])
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return Format{}, fmt.Errorf("read file: %w", err)
	}
	switch {
	case n >= 2 && (bom[0] == 0xFF && bom[1] == 0xFE || bom[0] == 0xFE && bom[1] == 0xFF):
		return Format{Encoding: UTF16, BOM: true}, nil
	case n == 3 && bom == [3]byte{0xEF, 0xBB, 0xBF}:
		ok, err := validUTF8(r)
		if err != nil || ok {
			return Format{Encoding: UTF8, BOM: true}, err
		}
	default:
		ok, err := validUTF8(io.MultiReader(bytes.NewReader(bom[:n]), r))
		if err != nil || ok {
			return Format{Encoding: UTF8}, err
		}
	}
	if _, err := r.Seek(start, io.SeekStart); err != nil {
		return Format{}, fmt.Errorf("read file: %w", err)
	}
	line, err := firstBadGB18030(r)
	if err != nil {
		return Format{}, err
	}
	if line > 0 {
		return Format{}, ErrEncoding{Line: line}
	}
	return Format{Encoding: GB18030}, nil
}

// validUTF8 reads r to its end and reports whether all of it is UTF-8.
func validUTF8(r io.Reader) (bool, error) {
	buf := make([]byte, 64<<10)
	carry := 0 // bytes of a character cut by the end of the last read
	for {
		n, err := r.Read(buf[carry:])
		data := buf[:carry+n]
		keep := cutRune(data)
		if !utf8.Valid(data[:len(data)-keep]) {
			return false, nil
		}
		carry = copy(buf, data[len(data)-keep:])
		if errors.Is(err, io.EOF) {
			return carry == 0, nil
		}
		if err != nil {
			return false, fmt.Errorf("read file: %w", err)
		}
	}
}

// cutRune returns how many bytes at the end of b begin a UTF-8 character that b does not finish.
func cutRune(b []byte) int {
	for i := 1; i <= 3 && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if utf8.FullRune(b[len(b)-i:]) {
				return 0
			}
			return i
		}
	}
	return 0
}

// firstBadGB18030 decodes r as GB18030 to its end and returns the number of the first line with
// bytes that are not GB18030, or 0 when there is none.
func firstBadGB18030(r io.Reader) (int, error) {
	br := bufio.NewReaderSize(transform.NewReader(r, simplifiedchinese.GB18030.NewDecoder()), 64<<10)
	for line := 1; ; line++ {
		text, err := br.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			if bytes.ContainsRune(text, utf8.RuneError) {
				return line, nil
			}
			text, err = br.ReadSlice('\n')
		}
		if bytes.ContainsRune(text, utf8.RuneError) {
			return line, nil
		}
		if errors.Is(err, io.EOF) {
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("read file: %w", err)
		}
	}
}

// errLineTooLong is a line longer than maxLineSize, refused on its own.
var errLineTooLong = fmt.Errorf("the line is longer than %d bytes", maxLineSize)

// next returns the next line that is not empty, without its line ending, as a string its fields
// can share. A line that is not text in the file's encoding, or too long, comes with an error
// (errLineTooLong or errNotText) and reading can go on; io.EOF ends the file.
func (s *source) next() (string, error) {
	for {
		b, err := s.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			s.long = append(s.long[:0], b...)
			for errors.Is(err, bufio.ErrBufferFull) {
				b, err = s.br.ReadSlice('\n')
				if len(s.long) <= maxLineSize {
					s.long = append(s.long, b...)
				}
			}
			b = s.long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read file: %w", err)
		}
		if len(b) == 0 && errors.Is(err, io.EOF) {
			return "", io.EOF
		}
		s.line++
		if len(b) > maxLineSize {
			return "", errLineTooLong
		}
		b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte{'\n'}), []byte{'\r'})
		if len(b) == 0 {
			continue // a blank line is no row, as in encoding/csv
		}
		if s.format.Encoding == UTF8 && !utf8.Valid(b) || s.format.Encoding != UTF8 && bytes.ContainsRune(b, utf8.RuneError) {
			return "", errNotText{s.format.Encoding}
		}
		return string(b), nil
	}
}

// errNotText is a line that is not text in the encoding its file was read in.
type errNotText struct{ encoding string }

func (e errNotText) Error() string {
	return fmt.Sprintf("the line is not %s text, as the start of the file is; save the whole file as CSV UTF-8", e.encoding)
}

// splitLine splits one line into its fields as encoding/csv reads a record on one line: fields
// separated by sep, a field may be quoted with ", a quote inside a quoted field is written twice.
// problem says what makes the line unreadable; fields is reused.
func splitLine(line string, sep byte, fields []string) (_ []string, problem string) {
	fields = fields[:0]
	for i := 0; ; {
		if i < len(line) && line[i] == '"' {
			var field []byte // only when a doubled quote is undone
			from, j := i+1, i+1
			for {
				k := strings.IndexByte(line[j:], '"')
				if k < 0 {
					return fields, fmt.Sprintf("column %d opens a quote that does not close on this line: the row is refused "+
						"and reading goes on with the next line (no field may span lines)", len(fields)+1)
				}
				j += k
				if j+1 < len(line) && line[j+1] == '"' {
					field = append(field, line[from:j+1]...)
					j += 2
					from = j
					continue
				}
				break
			}
			if field != nil {
				fields = append(fields, string(append(field, line[from:j]...)))
			} else {
				fields = append(fields, line[from:j])
			}
			j++ // past the closing quote
			if j == len(line) {
				return fields, ""
			}
			if line[j] != sep {
				return fields, fmt.Sprintf("column %d has text after its closing quote (a quote inside a quoted field is written twice: \"\")", len(fields))
			}
			i = j + 1
			continue
		}
		k := strings.IndexByte(line[i:], sep)
		field := line[i:]
		if k >= 0 {
			field = line[i : i+k]
		}
		if strings.IndexByte(field, '"') >= 0 {
			return fields, fmt.Sprintf("column %d has a quote inside a field that does not start with one (quote the whole field and write the quote twice)", len(fields)+1)
		}
		fields = append(fields, field)
		if k < 0 {
			return fields, ""
		}
		i += k + 1
	}
}
