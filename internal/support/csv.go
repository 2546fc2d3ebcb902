package support

import (
	"encoding/csv"
	"io"
	"strings"
)

// utf8BOM starts a CSV file so that Excel (in China as elsewhere) reads it as UTF-8 and shows
// Chinese text rather than mojibake.
const utf8BOM = "\ufeff"

// WriteCSV writes a header and rows as CSV for Excel: a UTF-8 byte order mark first, CRLF line
// ends, and every cell that a spreadsheet would read as a formula (one starting with = + - @, or
// a tab or carriage return) neutralised with a leading apostrophe, so an export cannot run what
// a caller typed into a reason.
func WriteCSV(w io.Writer, header []string, rows [][]string) error {
	if _, err := io.WriteString(w, utf8BOM); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(neutralise(header)); err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Write(neutralise(r)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func neutralise(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = SafeCell(c)
	}
	return out
}

// SafeCell returns a cell a spreadsheet shows as text: one starting with = + - @ or a tab or
// carriage return gets a leading apostrophe (OWASP's advice against CSV injection).
func SafeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
