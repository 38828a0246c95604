package api

import "fmt"

// Message is a text a user reads, in Vietnamese first and English beside it. Arguments are
// formatted into both with fmt verbs.
type Message struct{ VI, EN string }

// Format renders the message as "Vietnamese — English".
func (m Message) Format(args ...any) string {
	return fmt.Sprintf(m.VI, args...) + " — " + fmt.Sprintf(m.EN, args...)
}

// The message catalogue shared by all endpoints. Packages add their own next to their handlers.
var (
	MsgInternal      = Message{"Lỗi máy chủ; đã ghi nhật ký, vui lòng thử lại sau", "internal server error; it has been logged, please try again later"}
	MsgBadQuery      = Message{"Chuỗi truy vấn không hợp lệ: %v", "malformed query string: %v"}
	MsgUnknownParam  = Message{"Tham số không được hỗ trợ: %q; các tham số hợp lệ: %s", "unknown parameter %q; accepted parameters: %s"}
	MsgRepeatedParam = Message{"Tham số %q chỉ được xuất hiện một lần", "parameter %q may appear only once"}
	MsgBadChoice     = Message{"Giá trị %[2]q của tham số %[1]q không hợp lệ; chọn một trong: %[3]s", "invalid value %[2]q for parameter %[1]q; use one of: %[3]s"}
	MsgBadBody       = Message{"Nội dung yêu cầu không hợp lệ: %v", "invalid request body: %v"}
	MsgUnauthorized  = Message{"Cần thông tin xác thực hợp lệ (Authorization: Bearer …)", "a valid credential is required (Authorization: Bearer …)"}
	MsgNoRoute       = Message{"Không có tài nguyên tại đường dẫn %q", "no resource at path %q"}
	MsgNoCollection  = Message{"Không có lớp dữ liệu %q; xem /collections", "no collection %q; see /collections"}
	MsgBadNumber     = Message{"Giá trị %[2]q của %[1]s không hợp lệ: ghi một số nguyên từ %[3]d đến %[4]d", "%[1]s %[2]q: give a whole number from %[3]d to %[4]d"}
	MsgBadMethod     = Message{"Phương thức %s không được hỗ trợ tại %q", "method %s is not allowed at %q"}
)

// Msg builds a Message; packages declare their own texts with it.
func Msg(vi, en string) Message { return Message{VI: vi, EN: en} }
