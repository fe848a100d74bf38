"""The web UI's words in Vietnamese and English, and how numbers, money and dates read.

A plain catalogue: `MESSAGES[key] = (vietnamese, english)`; `CATALOGUES` gives one
dict per language. A key missing from the catalogue shows as itself, so a missing
translation is visible rather than fatal.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
#: Where the users are: times are shown in Vietnam's zone.
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")

MESSAGES: dict[str, tuple[str, str]] = {
    # -- frame ---------------------------------------------------------------------------
    "app.name": ("CRM Phân phối", "Distribution CRM"),
    "skip": ("Bỏ qua, tới nội dung chính", "Skip to main content"),
    "nav.home": ("Trang chủ", "Home"),
    "nav.leads": ("Khách hàng tiềm năng", "Leads"),
    "nav.board": ("Bảng Kanban", "Kanban"),
    "nav.customers": ("Khách hàng", "Customers"),
    "nav.quotes": ("Báo giá", "Quotes"),
    "nav.approvals": ("Duyệt báo giá", "Approvals"),
    "nav.marketing": ("Thị trường", "Marketing"),
    "nav.performance": ("Hiệu quả", "Performance"),
    "nav.admin": ("Quản trị", "Admin"),
    "nav.notifications": ("Thông báo", "Notifications"),
    "nav.main": ("Điều hướng chính", "Main navigation"),
    "logout": ("Đăng xuất", "Log out"),
    "language": ("Ngôn ngữ", "Language"),
    "language.vi": ("Tiếng Việt", "Tiếng Việt"),
    "language.en": ("English", "English"),
    "switch": ("Đổi", "Switch"),
    "signed_in_as": ("Đăng nhập: {name}", "Signed in: {name}"),
    # -- common --------------------------------------------------------------------------
    "save": ("Lưu", "Save"),
    "create": ("Tạo", "Create"),
    "search": ("Tìm kiếm", "Search"),
    "filter": ("Lọc", "Filter"),
    "all": ("Tất cả", "All"),
    "none": ("—", "—"),
    "yes": ("Có", "Yes"),
    "no": ("Không", "No"),
    "cancel": ("Hủy", "Cancel"),
    "back": ("Quay lại", "Back"),
    "open": ("Mở", "Open"),
    "actions": ("Thao tác", "Actions"),
    "status": ("Trạng thái", "Status"),
    "note": ("Ghi chú", "Note"),
    "reason": ("Lý do", "Reason"),
    "name": ("Tên", "Name"),
    "owner": ("Phụ trách", "Owner"),
    "created": ("Ngày tạo", "Created"),
    "date": ("Ngày", "Date"),
    "total": ("Tổng cộng", "Total"),
    "amount": ("Số tiền", "Amount"),
    "period": ("Kỳ", "Period"),
    "region": ("Tỉnh/thành", "Province"),
    "channel": ("Kênh", "Channel"),
    "me": ("Tôi", "Me"),
    "nothing_yet": ("Chưa có gì.", "Nothing yet."),
    "optional": ("không bắt buộc", "optional"),
    "required": ("bắt buộc", "required"),
    "errors.title": ("Vui lòng sửa các lỗi sau:", "Please correct the following:"),
    "errors.generic": ("Không thực hiện được: {detail}", "Could not do that: {detail}"),
    "errors.unavailable": (
        "Dịch vụ tạm thời không trả lời. Vui lòng thử lại.",
        "A service is not answering right now. Please try again.",
    ),
    "errors.forbidden": ("Bạn không có quyền làm việc này.", "You are not allowed to do that."),
    "errors.not_found": ("Không tìm thấy.", "Not found."),
    "errors.csrf": (
        "Phiên biểu mẫu đã hết hạn. Vui lòng tải lại trang và thử lại.",
        "The form expired. Please reload the page and try again.",
    ),
    "err.missing": ("Bắt buộc nhập.", "Required."),
    "err.string_too_short": ("Không được để trống.", "Must not be empty."),
    "err.string_too_long": ("Quá dài.", "Too long."),
    "err.int_parsing": ("Phải là số nguyên.", "Must be a whole number."),
    "err.float_parsing": ("Phải là số.", "Must be a number."),
    "err.decimal_parsing": ("Phải là số.", "Must be a number."),
    "err.greater_than": ("Phải lớn hơn {limit}.", "Must be greater than {limit}."),
    "err.greater_than_equal": ("Phải từ {limit} trở lên.", "Must be at least {limit}."),
    "err.less_than_equal": ("Phải không quá {limit}.", "Must be at most {limit}."),
    "err.date_from_datetime_parsing": ("Ngày không hợp lệ.", "Not a valid date."),
    "err.date_parsing": ("Ngày không hợp lệ.", "Not a valid date."),
    "err.value_error.email": ("Địa chỉ email không hợp lệ.", "Not a valid e-mail address."),
    "err.phone": ("Số điện thoại Việt Nam không hợp lệ.", "Not a Vietnamese phone number."),
    # -- login ---------------------------------------------------------------------------
    "login.title": ("Đăng nhập", "Log in"),
    "login.username": ("Tên đăng nhập", "Username"),
    "login.password": ("Mật khẩu", "Password"),
    "login.submit": ("Đăng nhập", "Log in"),
    "login.failed": ("Sai tên đăng nhập hoặc mật khẩu.", "Incorrect username or password."),
    "login.throttled": (
        "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau.",
        "Too many failed logins. Please try again later.",
    ),
    # -- roles ---------------------------------------------------------------------------
    "role.admin": ("Quản trị viên", "Administrator"),
    "role.sales_manager": ("Quản lý kinh doanh", "Sales manager"),
    "role.salesperson": ("Nhân viên kinh doanh", "Salesperson"),
    "role.marketing": ("Marketing", "Marketing"),
    "role.accountant": ("Kế toán", "Accountant"),
    # -- home ----------------------------------------------------------------------------
    "home.title": ("Xin chào, {name}", "Hello, {name}"),
    "home.my_leads": ("Khách hàng tiềm năng đang xử lý", "My open leads"),
    "home.due_today": ("Việc cần làm hôm nay", "Activities due today"),
    "home.reviews_due": ("Khách hàng đến hạn đánh giá lại", "Customers due for re-grading"),
    "home.my_quotes": ("Báo giá cần xử lý", "Quotes to act on"),
    "home.approval_queue": ("Báo giá chờ duyệt", "Approval queue"),
    "home.pipeline": ("Pipeline của nhóm", "Team pipeline"),
    "home.campaigns": ("Chiến dịch", "Campaigns"),
    "home.aging": ("Công nợ theo tuổi nợ", "Receivables aging"),
    "home.users": ("Người dùng", "Users"),
    "home.quick": ("Truy cập nhanh", "Quick links"),
    # -- leads ---------------------------------------------------------------------------
    "leads.title": ("Khách hàng tiềm năng", "Leads"),
    "leads.new": ("Thêm khách hàng tiềm năng", "Capture a lead"),
    "leads.import": ("Nhập từ CSV", "Import CSV"),
    "leads.board": ("Bảng Kanban", "Kanban board"),
    "leads.search_hint": ("Tên, công ty, điện thoại hoặc email", "Name, company, phone or e-mail"),
    "leads.count": ("{n} khách hàng tiềm năng", "{n} leads"),
    "lead.full_name": ("Họ tên", "Full name"),
    "lead.company": ("Công ty", "Company"),
    "lead.phone": ("Điện thoại", "Phone"),
    "lead.email": ("Email", "E-mail"),
    "lead.source": ("Nguồn", "Source"),
    "lead.region_code": ("Mã tỉnh/thành", "Province code"),
    "lead.campaign": ("Chiến dịch", "Campaign"),
    "lead.plan": ("Kế hoạch tiếp cận", "Approach plan"),
    "lead.planned_contact_on": ("Ngày dự kiến liên hệ", "Planned contact date"),
    "lead.planned_channel": ("Hình thức liên hệ", "Contact by"),
    "lead.history": ("Lịch sử", "History"),
    "lead.customer": ("Khách hàng đã chuyển đổi", "Converted customer"),
    "lead.duplicates": (
        "Có thể trùng với khách hàng tiềm năng đã có:",
        "This looks like leads that already exist:",
    ),
    "lead.matched_on": ("trùng {what}", "same {what}"),
    "lead.create_anyway": ("Vẫn tạo mới", "Create anyway"),
    "lead.not_visible": ("(của người khác)", "(someone else's)"),
    "lead.contact": ("Đánh dấu đã liên hệ", "Mark contacted"),
    "lead.evaluate": ("Đánh giá", "Evaluate"),
    "lead.promising": ("Có triển vọng?", "Promising?"),
    "lead.convert": ("Chuyển thành khách hàng", "Convert to customer"),
    "lead.opportunity_name": ("Tên cơ hội bán hàng", "Opportunity name"),
    "lead.expected_amount": ("Giá trị dự kiến (₫)", "Expected amount (₫)"),
    "lead.disqualify": ("Loại bỏ", "Disqualify"),
    "lead.converted_wait": (
        "Đã chuyển đổi. Hồ sơ khách hàng đang được tạo…",
        "Converted. The customer record is being created…",
    ),
    "lead.move_to": ("Chuyển sang", "Move to"),
    "lead.move": ("Chuyển", "Move"),
    "lead.moved": ("Đã chuyển trạng thái.", "Status changed."),
    "lead.closed_needs_reason": (
        "Loại bỏ cần lý do: hãy chọn lý do trên trang khách hàng tiềm năng.",
        "Disqualifying needs a reason: pick one on the lead's page.",
    ),
    "lead.board_hint": (
        "Kéo thẻ sang cột khác để đổi trạng thái, hoặc dùng ô “Chuyển sang” trên thẻ.",
        "Drag a card to another column to change its status, or use “Move to” on the card.",
    ),
    "import.file": ("Tệp CSV (UTF-8, có dòng tiêu đề)", "CSV file (UTF-8, with a header row)"),
    "import.submit": ("Nhập", "Import"),
    "import.report": ("Kết quả nhập", "Import report"),
    "import.total_rows": ("Số dòng", "Rows"),
    "import.imported": ("Đã nhập", "Imported"),
    "import.duplicates": ("Trùng lặp", "Duplicates"),
    "import.rejected": ("Bị từ chối", "Rejected"),
    "import.row": ("Dòng", "Row"),
    "import.columns_hint": (
        "Cột: full_name, company, phone, email, source, region_code, owner (tên đăng nhập)",
        "Columns: full_name, company, phone, email, source, region_code, owner (username)",
    ),
    "status.new": ("Mới", "New"),
    "status.contacting": ("Đang liên hệ", "Contacting"),
    "status.evaluated": ("Đã đánh giá", "Evaluated"),
    "status.converted": ("Đã chuyển đổi", "Converted"),
    "status.closed": ("Đã loại", "Closed"),
    "status.merged": ("Đã gộp", "Merged"),
    "source.internet": ("Internet", "Internet"),
    "source.press": ("Báo chí", "Press"),
    "source.partner_referral": ("Đối tác giới thiệu", "Partner referral"),
    "source.trade_fair": ("Hội chợ", "Trade fair"),
    "source.walk_in": ("Khách vãng lai", "Walk-in"),
    "source.campaign": ("Chiến dịch", "Campaign"),
    "source.other": ("Khác", "Other"),
    "match.phone": ("số điện thoại", "phone"),
    "match.email": ("email", "e-mail"),
    "match.company_name": ("tên công ty", "company name"),
    "pchannel.call": ("Gọi điện", "Call"),
    "pchannel.visit": ("Gặp trực tiếp", "Visit"),
    "pchannel.email": ("Email", "E-mail"),
    "pchannel.meeting": ("Họp", "Meeting"),
    "pchannel.message": ("Tin nhắn (Zalo, SMS)", "Message (Zalo, SMS)"),
    # -- customers -----------------------------------------------------------------------
    "customers.title": ("Khách hàng", "Customers"),
    "customers.search_hint": ("Tên, điện thoại hoặc email", "Name, phone or e-mail"),
    "customer.details": ("Thông tin", "Details"),
    "customer.stage": ("Giai đoạn", "Stage"),
    "customer.grade": ("Hạng", "Grade"),
    "customer.contact_name": ("Người liên hệ", "Contact person"),
    "customer.address": ("Địa chỉ", "Address"),
    "customer.next_review": ("Đánh giá lại vào", "Next review"),
    "customer.last_contact": ("Liên hệ gần nhất", "Last contact"),
    "customer.last_purchase": ("Mua hàng gần nhất", "Last purchase"),
    "customer.grading": ("Xếp hạng và lịch sử", "Grade and its history"),
    "customer.questionnaire": ("Phiếu đánh giá", "Grading questionnaire"),
    "customer.grade_now": ("Xếp hạng", "Grade"),
    "customer.score": ("Điểm", "Score"),
    "customer.no_questionnaire": (
        "Chưa có phiếu đánh giá nào. Quản lý kinh doanh cần tạo phiếu trước.",
        "There is no questionnaire yet; a sales manager defines one first.",
    ),
    "customer.activities": ("Hoạt động chăm sóc", "Activities and care plan"),
    "customer.plan_activity": ("Lên lịch hoạt động", "Plan an activity"),
    "customer.due_on": ("Hạn", "Due"),
    "customer.kind": ("Loại", "Kind"),
    "customer.complete": ("Hoàn thành", "Complete"),
    "customer.outcome": ("Kết quả", "Outcome"),
    "customer.quotes": ("Báo giá", "Quotes"),
    "customer.orders": ("Đơn hàng", "Orders"),
    "customer.invoices": ("Hóa đơn", "Invoices"),
    "customer.timeline": ("Dòng thời gian", "Timeline"),
    "customer.new_quote": ("Tạo báo giá", "New quote"),
    "customer.pending": (
        "Khách hàng đang được tạo từ khách hàng tiềm năng vừa chuyển đổi. Trang sẽ tự tải lại.",
        "The customer is being created from the lead just converted. This page reloads by itself.",
    ),
    "customer.account": ("Công nợ", "Account"),
    "customer.credit_limit": ("Hạn mức tín dụng", "Credit limit"),
    "customer.open_receivables": ("Công nợ chưa thu", "Open receivables"),
    "stage.prospect": ("Tiềm năng", "Prospect"),
    "stage.traditional": ("Truyền thống", "Traditional"),
    "stage.inactive": ("Ngừng hoạt động", "Inactive"),
    "kind.call": ("Gọi điện", "Call"),
    "kind.visit": ("Thăm", "Visit"),
    "kind.email": ("Email", "E-mail"),
    "kind.meeting": ("Họp", "Meeting"),
    "kind.demo": ("Trình diễn", "Demo"),
    "astatus.planned": ("Đã lên lịch", "Planned"),
    "astatus.done": ("Đã xong", "Done"),
    "astatus.cancelled": ("Đã hủy", "Cancelled"),
    "timeline.registered": ("Tạo hồ sơ", "Registered"),
    "timeline.updated": ("Cập nhật", "Updated"),
    "timeline.graded": ("Xếp hạng", "Graded"),
    "timeline.stage_changed": ("Đổi giai đoạn", "Stage changed"),
    "timeline.activity_planned": ("Lên lịch hoạt động", "Activity planned"),
    "timeline.activity_done": ("Hoàn thành hoạt động", "Activity done"),
    "timeline.activity_cancelled": ("Hủy hoạt động", "Activity cancelled"),
    "timeline.owner_changed": ("Đổi người phụ trách", "Owner changed"),
    "timeline.activity_reassigned": ("Chuyển hoạt động", "Activity reassigned"),
    "timeline.imported": ("Nhập từ tệp", "Imported"),
    "timeline.quote_accepted": ("Chấp nhận báo giá", "Quote accepted"),
    "timeline.quote_approved": ("Báo giá được duyệt", "Quote approved"),
    "timeline.quote_rejected": ("Báo giá bị từ chối", "Quote rejected"),
    "timeline.quote_declined": ("Từ chối báo giá", "Quote declined"),
    "timeline.order_placed": ("Đặt hàng", "Order placed"),
    "timeline.deactivated": ("Ngừng hoạt động", "Deactivated"),
    # -- quotes --------------------------------------------------------------------------
    "quotes.title": ("Báo giá", "Quotes"),
    "quotes.new": ("Tạo báo giá", "New quote"),
    "quote.number": ("Số báo giá", "Quote"),
    "quote.customer": ("Khách hàng", "Customer"),
    "quote.lines": ("Dòng hàng", "Lines"),
    "quote.product": ("Sản phẩm", "Product"),
    "quote.quantity": ("Số lượng", "Quantity"),
    "quote.unit_price": ("Đơn giá (₫)", "Unit price (₫)"),
    "quote.discount_pct": ("Chiết khấu (%)", "Discount (%)"),
    "quote.vat": ("VAT", "VAT"),
    "quote.line_total": ("Thành tiền", "Line total"),
    "quote.net_total": ("Cộng tiền hàng", "Net total"),
    "quote.vat_total": ("Thuế GTGT", "VAT"),
    "quote.total": ("Tổng thanh toán", "Total"),
    "quote.add_line": ("Thêm dòng", "Add a line"),
    "quote.remove_line": ("Xóa dòng", "Remove line"),
    "quote.valid_until": ("Hiệu lực đến", "Valid until"),
    "quote.choose_product": ("— Chọn sản phẩm —", "— Choose a product —"),
    "quote.list_price": ("giá niêm yết", "list price"),
    "quote.estimate_hint": (
        "Tổng tạm tính; số chính thức do hệ thống tính khi lưu.",
        "A live estimate; the system computes the official totals when saved.",
    ),
    "quote.submit": ("Gửi duyệt", "Submit for approval"),
    "quote.approve": ("Duyệt", "Approve"),
    "quote.reject": ("Từ chối", "Reject"),
    "quote.send": ("Gửi khách hàng", "Send to customer"),
    "quote.accept": ("Khách hàng chấp nhận", "Customer accepted"),
    "quote.decline": ("Khách hàng từ chối", "Customer declined"),
    "quote.override_reason": (
        "Lý do duyệt dù không đạt kiểm tra tín dụng",
        "Reason to approve despite the failed credit check",
    ),
    "quote.credit_check": ("Kiểm tra tín dụng", "Credit check"),
    "quote.exposure": ("Dư nợ nếu duyệt", "Exposure if approved"),
    "quote.rejection_reason": ("Lý do từ chối", "Rejection reason"),
    "quote.no_products": (
        "Chưa có sản phẩm nào trong bảng giá.",
        "The price list has no products yet.",
    ),
    "quote.waiting_check": (
        "Đang chờ kế toán kiểm tra tín dụng…",
        "Waiting for accounting's credit check…",
    ),
    "qstatus.draft": ("Nháp", "Draft"),
    "qstatus.pending_approval": ("Chờ duyệt", "Pending approval"),
    "qstatus.approved": ("Đã duyệt", "Approved"),
    "qstatus.rejected": ("Bị từ chối", "Rejected"),
    "qstatus.sent": ("Đã gửi", "Sent"),
    "qstatus.accepted": ("Được chấp nhận", "Accepted"),
    "qstatus.declined": ("Khách từ chối", "Declined"),
    "qstatus.expired": ("Hết hạn", "Expired"),
    "credit.pending": ("Đang kiểm tra", "Pending"),
    "credit.passed": ("Đạt", "Passed"),
    "credit.failed": ("Không đạt", "Failed"),
    "approvals.title": ("Báo giá chờ duyệt", "Approval queue"),
    "approvals.empty": ("Không có báo giá nào chờ duyệt.", "No quote is waiting for approval."),
    "order.number": ("Số đơn hàng", "Order"),
    "order.date": ("Ngày đặt", "Order date"),
    "invoice.number": ("Số hóa đơn", "Invoice"),
    "invoice.due": ("Hạn thanh toán", "Due"),
    "invoice.balance": ("Còn nợ", "Balance"),
    "istatus.open": ("Chưa thanh toán", "Open"),
    "istatus.partially_paid": ("Thanh toán một phần", "Partially paid"),
    "istatus.paid": ("Đã thanh toán", "Paid"),
    "istatus.credited": ("Đã giảm trừ", "Credited"),
    # -- pipeline ------------------------------------------------------------------------
    "ostage.qualification": ("Xác định nhu cầu", "Qualification"),
    "ostage.needs_analysis": ("Phân tích nhu cầu", "Needs analysis"),
    "ostage.proposal": ("Đề xuất", "Proposal"),
    "ostage.negotiation": ("Đàm phán", "Negotiation"),
    "ostage.won": ("Thắng", "Won"),
    "ostage.lost": ("Thua", "Lost"),
    "pipeline.count": ("Số cơ hội", "Opportunities"),
    "pipeline.amount": ("Giá trị", "Amount"),
    "pipeline.weighted": ("Giá trị theo xác suất", "Weighted"),
    # -- marketing -----------------------------------------------------------------------
    "marketing.title": ("Thị trường", "Marketing"),
    "marketing.channels": ("Kênh bán hàng và vùng phủ", "Channels and coverage"),
    "marketing.volumes": ("Dung lượng thị trường", "Market volumes"),
    "marketing.share": ("Thị phần", "Market share"),
    "marketing.campaigns": ("Chiến dịch", "Campaigns"),
    "channel.kind": ("Loại kênh", "Kind"),
    "channel.regions": ("Tỉnh/thành phủ", "Provinces covered"),
    "channel.regions_hint": (
        "Mã tỉnh, cách nhau bởi dấu phẩy (vd. 01, 79)",
        "Province codes, comma-separated (e.g. 01, 79)",
    ),
    "channel.new": ("Thêm kênh", "Add a channel"),
    "ckind.distributor": ("Nhà phân phối", "Distributor"),
    "ckind.dealer": ("Đại lý", "Dealer"),
    "ckind.retail": ("Cửa hàng bán lẻ", "Retail store"),
    "ckind.agent": ("Cộng tác viên", "Agent"),
    "ckind.online": ("Trực tuyến", "Online"),
    "ckind.project": ("Bán dự án", "Project sales"),
    "volume.product_group": ("Nhóm sản phẩm", "Product group"),
    "volume.new": ("Thêm ước tính", "Add an estimate"),
    "share.revenue": ("Doanh thu", "Revenue"),
    "share.volume": ("Dung lượng", "Market volume"),
    "share.share": ("Thị phần", "Share"),
    "share.previous": ("Kỳ trước", "Previous period"),
    "share.change": ("Thay đổi", "Change"),
    "share.white_space": ("Vùng có thị trường nhưng chưa có kênh", "Regions with a market but no channel"),
    "share.chart": ("Thị phần theo tỉnh/thành và kênh", "Share by province and channel"),
    "share.no_channel": ("(chưa gán kênh)", "(no channel)"),
    "campaign.new": ("Tạo chiến dịch", "New campaign"),
    "campaign.starts_on": ("Bắt đầu", "Starts"),
    "campaign.ends_on": ("Kết thúc", "Ends"),
    "campaign.grades": ("Hạng khách hàng", "Customer grades"),
    "campaign.grades_hint": ("Cách nhau bởi dấu phẩy (vd. A, B)", "Comma-separated (e.g. A, B)"),
    "campaign.audience": ("Đối tượng", "Audience"),
    "campaign.leads": ("KH tiềm năng", "Leads"),
    "campaign.orders": ("Đơn hàng", "Orders"),
    "campaign.launch": ("Phát động", "Launch"),
    "cstatus.draft": ("Nháp", "Draft"),
    "cstatus.launched": ("Đã phát động", "Launched"),
    # -- performance ---------------------------------------------------------------------
    "performance.title": ("Hiệu quả bán hàng", "Sales performance"),
    "performance.by_salesperson": ("Theo nhân viên", "By salesperson"),
    "performance.by_channel": ("Theo kênh", "By channel"),
    "performance.leads_worked": ("KH tiềm năng", "Leads worked"),
    "performance.converted": ("Chuyển đổi", "Converted"),
    "performance.conversion_rate": ("Tỷ lệ chuyển đổi", "Conversion rate"),
    "performance.prospects": ("KH mới", "Prospects gained"),
    "performance.quotes_sent": ("Báo giá đã gửi", "Quotes sent"),
    "performance.orders": ("Đơn hàng", "Orders"),
    "performance.revenue": ("Doanh thu", "Revenue"),
    "performance.growth": ("Tăng trưởng", "Growth"),
    "performance.salesperson": ("Nhân viên", "Salesperson"),
    "performance.chart": ("Doanh thu và kỳ trước", "Revenue against the previous period"),
    # -- admin ---------------------------------------------------------------------------
    "admin.title": ("Người dùng và phân quyền", "Users and roles"),
    "admin.new_user": ("Thêm người dùng", "Add a user"),
    "admin.username": ("Tên đăng nhập", "Username"),
    "admin.full_name": ("Họ tên", "Full name"),
    "admin.role": ("Vai trò", "Role"),
    "admin.password": ("Mật khẩu (ít nhất 8 ký tự)", "Password (at least 8 characters)"),
    "admin.active": ("Đang làm việc", "Active"),
    "admin.inactive": ("Đã nghỉ", "Offboarded"),
    "admin.change_role": ("Đổi vai trò", "Change role"),
    "admin.offboard": ("Cho nghỉ việc và bàn giao", "Offboard and hand over"),
    "admin.reassign_to": ("Bàn giao cho", "Hand over to"),
    "admin.portfolio": ("Danh mục còn giữ", "Portfolio still held"),
    "admin.portfolio_total": ("Tổng số bản ghi còn giữ: {n}", "Records still held: {n}"),
    "admin.portfolio_incomplete": (
        "Một số dịch vụ chưa trả lời: {names}",
        "Some services did not answer: {names}",
    ),
    "admin.offboarded": (
        "Đã cho nghỉ việc; đang bàn giao danh mục.",
        "Offboarded; the portfolio is being handed over.",
    ),
    "admin.user_created": ("Đã tạo người dùng.", "User created."),
    # -- notifications -------------------------------------------------------------------
    "notifications.title": ("Thông báo", "Notifications"),
    "notifications.unread": ("{n} chưa đọc", "{n} unread"),
    "notifications.empty": ("Không có thông báo.", "No notifications."),
    "notifications.read_all": ("Đánh dấu đã đọc tất cả", "Mark all read"),
    "notifications.mark_read": ("Đã đọc", "Mark read"),
    "notify.quote_waiting": (
        "Báo giá {number} ({customer}, {total}) đang chờ bạn duyệt",
        "Quote {number} ({customer}, {total}) is waiting for your approval",
    ),
    "notify.quote_approved": ("Báo giá {number} của bạn đã được duyệt", "Your quote {number} was approved"),
    "notify.quote_rejected": (
        "Báo giá {number} của bạn bị từ chối: {reason}",
        "Your quote {number} was rejected: {reason}",
    ),
    "notify.lead_assigned": (
        "Bạn được giao khách hàng tiềm năng {name}",
        "A lead was assigned to you: {name}",
    ),
    "notify.review_due": (
        "Đến hạn đánh giá lại một khách hàng hạng {grade}",
        "A grade {grade} customer is due for re-grading",
    ),
    # -- flashes -------------------------------------------------------------------------
    "flash.saved": ("Đã lưu.", "Saved."),
    "flash.lead_created": ("Đã thêm khách hàng tiềm năng.", "Lead captured."),
    "flash.quote_created": ("Đã tạo báo giá nháp.", "Draft quote created."),
    "flash.done": ("Đã thực hiện.", "Done."),
    "flash.language": ("Đã đổi ngôn ngữ.", "Language changed."),
    # -- care reminders (notification `care_due`) ----------------------------------------
    "notify.care_due": (
        "Đến hạn chăm sóc khách hàng {customer}: {activity}, hạn {due_on}",
        "Care due for {customer}: {activity}, due {due_on}",
    ),
    # -- settings: products, approval rules, questionnaires; customer import -----------
    "nav.settings": ("Sản phẩm & thiết lập", "Products & settings"),
    "settings.title": ("Sản phẩm và thiết lập", "Products and settings"),
    "settings.products": ("Sản phẩm và bảng giá", "Products and prices"),
    "settings.approval_rules": ("Quy tắc duyệt báo giá", "Quote approval rules"),
    "settings.questionnaires": ("Phiếu xếp hạng khách hàng", "Grading questionnaires"),
    "pager.previous": ("Trang trước", "Previous page"),
    "pager.next": ("Trang sau", "Next page"),
    "product.new": ("Thêm sản phẩm", "Add a product"),
    "product.edit": ("Sửa sản phẩm", "Edit the product"),
    "product.search_hint": ("Mã hoặc tên sản phẩm", "Product code or name"),
    "product.count": ("{n} sản phẩm", "{n} products"),
    "product.code": ("Mã sản phẩm", "Product code"),
    "product.code_hint": (
        "Chữ, số, '.', '_' hoặc '-'; không đổi được sau khi tạo",
        "Letters, digits, '.', '_' or '-'; cannot be changed later",
    ),
    "product.group": ("Nhóm sản phẩm", "Product group"),
    "product.unit_price": ("Đơn giá (₫, chưa VAT)", "Unit price (₫, before VAT)"),
    "product.price_hint": ("Ví dụ 1.200.000", "For example 1,200,000"),
    "product.reprice_hint": (
        "Giá mới áp dụng từ bây giờ và được ghi vào lịch sử giá; báo giá đã lập giữ giá cũ.",
        "A new price applies from now on and goes into the price history; quotes already made keep theirs.",
    ),
    "product.vat_rate": ("Thuế suất VAT", "VAT rate"),
    "product.active": ("Đang bán", "Active"),
    "product.inactive": ("Ngừng bán", "Inactive"),
    "product.updated": ("Cập nhật lần cuối", "Last changed"),
    "product.deactivate": ("Ngừng bán sản phẩm", "Deactivate the product"),
    "product.deactivate_hint": (
        "Sản phẩm ngừng bán không dùng được cho báo giá mới.",
        "An inactive product cannot be put on new quotes.",
    ),
    "product.reactivate": ("Bán lại sản phẩm", "Reactivate the product"),
    "product.price_history": ("Lịch sử giá", "Price history"),
    "product.valid_from": ("Áp dụng từ", "Valid from"),
    "product.set_by": ("Người đặt giá", "Set by"),
    "product.current_price": ("Giá hiện hành", "Current"),
    "rules.current": ("Quy tắc đang áp dụng", "Rules in force"),
    "rules.summary_all": (
        "Mọi báo giá đều cần quản lý kinh doanh duyệt.",
        "Every quote needs a sales manager's approval.",
    ),
    "rules.summary_threshold": (
        "Báo giá cần quản lý kinh doanh duyệt khi:",
        "A quote needs a sales manager's approval when:",
    ),
    "rules.summary_min_total": (
        "tổng thanh toán từ {amount} trở lên, hoặc",
        "its total is {amount} or more, or",
    ),
    "rules.summary_discount": (
        "có dòng hàng chiết khấu trên {pct}%.",
        "a line has a discount above {pct}%.",
    ),
    "rules.summary_others": (
        "Các báo giá khác được duyệt tự động khi đạt kiểm tra tín dụng.",
        "Other quotes are approved automatically once their credit check passes.",
    ),
    "rules.change": ("Thay đổi quy tắc", "Change the rules"),
    "rules.mode": ("Báo giá nào cần quản lý duyệt?", "Which quotes need a manager?"),
    "rules.mode_all": ("Tất cả báo giá", "Every quote"),
    "rules.mode_threshold": ("Chỉ báo giá vượt ngưỡng", "Only quotes above a threshold"),
    "rules.thresholds": ("Ngưỡng", "Thresholds"),
    "rules.thresholds_hint": (
        "Chỉ dùng khi chọn “Chỉ báo giá vượt ngưỡng”; điền một hoặc cả hai.",
        "Used only with “Only quotes above a threshold”; fill in one or both.",
    ),
    "rules.min_total": ("Tổng thanh toán từ (₫)", "Total from (₫)"),
    "rules.max_discount_pct": ("Chiết khấu một dòng trên (%)", "A line discount above (%)"),
    "questionnaire.new": ("Tạo phiếu xếp hạng", "New questionnaire"),
    "questionnaire.new_version": ("Tạo phiên bản mới", "New version"),
    "questionnaire.save": ("Lưu phiếu", "Save the questionnaire"),
    "questionnaire.save_version": ("Lưu phiên bản mới", "Save the new version"),
    "questionnaire.form_hint": (
        "Các nút thêm/xóa gửi lại biểu mẫu và giữ nguyên những gì đã nhập.",
        "The add and remove buttons send the form back and keep everything typed.",
    ),
    "questionnaire.all_versions": ("Xem mọi phiên bản", "Show every version"),
    "questionnaire.latest_only": ("Chỉ phiên bản đang dùng", "Current versions only"),
    "questionnaire.version": ("Phiên bản", "Version"),
    "questionnaire.versions": ("Các phiên bản", "Versions"),
    "questionnaire.in_use": ("Đang dùng", "In use"),
    "questionnaire.superseded": ("Đã có phiên bản mới", "Superseded"),
    "questionnaire.newer": ("Xem phiên bản mới hơn", "See the newer version"),
    "questionnaire.scheme": ("Thang hạng", "Grading scheme"),
    "questionnaire.apply_scheme": ("Áp dụng thang hạng", "Apply the scheme"),
    "questionnaire.grades": ("Các hạng và ngưỡng điểm", "Grades and their thresholds"),
    "questionnaire.grades_hint": (
        "Hạng tốt nhất ở trên; điểm tối thiểu giảm dần, hạng thấp nhất là 0 (điểm 0-100).",
        "Best grade first; minimum scores fall from top to bottom and the lowest is 0 (scores 0-100).",
    ),
    "questionnaire.grade_n": ("Hạng {n}", "Grade {n}"),
    "questionnaire.add_grade": ("Thêm hạng", "Add a grade"),
    "questionnaire.remove_grade": ("Xóa hạng {n}", "Remove grade {n}"),
    "questionnaire.min_score": ("Điểm tối thiểu", "Minimum score"),
    "questionnaire.review_interval_days": ("Đánh giá lại sau (ngày)", "Review after (days)"),
    "questionnaire.care_cadence_days": ("Chăm sóc mỗi (ngày)", "Contact every (days)"),
    "questionnaire.criteria": ("Tiêu chí", "Criteria"),
    "questionnaire.criterion_n": ("Tiêu chí {n}", "Criterion {n}"),
    "questionnaire.add_criterion": ("Thêm tiêu chí", "Add a criterion"),
    "questionnaire.remove_criterion": ("Xóa tiêu chí {n}", "Remove criterion {n}"),
    "questionnaire.key": ("Mã tiêu chí", "Key"),
    "questionnaire.key_hint": (
        "Chữ thường không dấu, số và '_', bắt đầu bằng chữ (vd. doanh_thu)",
        "Lower-case letters, digits and '_', starting with a letter (e.g. revenue)",
    ),
    "questionnaire.question": ("Câu hỏi", "Question"),
    "questionnaire.weight": ("Trọng số", "Weight"),
    "questionnaire.weight_share": ("Tỷ trọng", "Share of the score"),
    "questionnaire.answer_type": ("Cách trả lời", "Answered by"),
    "questionnaire.type_options": ("Chọn một phương án", "Choosing an option"),
    "questionnaire.type_range": ("Nhập một số", "Entering a number"),
    "questionnaire.option_n": ("Phương án {n} của tiêu chí {c}", "Option {n} of criterion {c}"),
    "questionnaire.add_option": ("Thêm phương án", "Add an option"),
    "questionnaire.remove_option": (
        "Xóa phương án {n} của tiêu chí {c}",
        "Remove option {n} of criterion {c}",
    ),
    "questionnaire.option_label": ("Phương án trả lời", "Answer"),
    "questionnaire.option_value": ("Mã phương án", "Value"),
    "questionnaire.points": ("Điểm (0-100)", "Points (0-100)"),
    "questionnaire.options_hint": (
        "Dòng để trống được bỏ qua.",
        "Rows left empty are ignored.",
    ),
    "questionnaire.range_min": ("Từ (0 điểm)", "From (0 points)"),
    "questionnaire.range_max": ("Đến (100 điểm)", "To (100 points)"),
    "questionnaire.range_descending": ("Số càng nhỏ càng tốt", "Smaller is better"),
    "questionnaire.range_hint": (
        "Điểm tăng đều từ 0 tại “Từ” đến 100 tại “Đến” (ngược lại nếu số càng nhỏ càng tốt).",
        "Points rise evenly from 0 at “From” to 100 at “To” (the other way if smaller is better).",
    ),
    "questionnaire.range_summary": (
        "Nhập một số: {min} được 0 điểm, {max} được 100 điểm.",
        "A number: {min} scores 0 points, {max} scores 100.",
    ),
    "questionnaire.range_summary_desc": (
        "Nhập một số: {min} được 100 điểm, {max} được 0 điểm.",
        "A number: {min} scores 100 points, {max} scores 0.",
    ),
    "scheme.abcd": ("A, B, C, D", "A, B, C, D"),
    "scheme.vip": ("VIP, Tier I-III", "VIP, Tier I-III"),
    "scheme.custom": ("Tự đặt", "Custom"),
    "cimport.title": ("Nhập khách hàng từ tệp", "Import customers"),
    "cimport.upload": ("Tải tệp lên để xem trước", "Upload a file to preview"),
    "cimport.file": ("Tệp CSV (UTF-8) hoặc Excel (.xlsx)", "CSV (UTF-8) or Excel (.xlsx) file"),
    "cimport.columns_hint": (
        "Dòng đầu là tiêu đề. Cột: name (bắt buộc), contact_name, phone, email, address, region_code, "
        "stage (prospect/traditional), grade, owner (tên đăng nhập). Tối đa 5 MB.",
        "The first row is the header. Columns: name (required), contact_name, phone, email, address, "
        "region_code, stage (prospect/traditional), grade, owner (username). At most 5 MB.",
    ),
    "cimport.preview": ("Xem trước", "Preview"),
    "cimport.another": ("Nhập tệp khác", "Import another file"),
    "cimport.commit": ("Nhập {n} khách hàng", "Import {n} customers"),
    "cimport.commit_hint": (
        "Trùng lặp được kiểm tra lại khi nhập; chỉ các dòng hợp lệ được ghi.",
        "Duplicates are checked again on import; only the rows that pass are written.",
    ),
    "cimport.nothing_to_import": ("Không có dòng nào để nhập.", "There is no row to import."),
    "cimport.past": ("Các lần nhập trước", "Past imports"),
    "cimport.file_name": ("Tệp", "File"),
    "cimport.uploaded": ("Tải lên", "Uploaded"),
    "cimport.committed": ("Đã nhập lúc", "Imported at"),
    "cimport.ignored_columns": ("Cột bị bỏ qua", "Columns ignored"),
    "cimport.status.previewed": ("Chờ xác nhận", "Preview"),
    "cimport.status.committed": ("Đã nhập", "Imported"),
    "import.to_import": ("Sẽ nhập", "To import"),
    "import.duplicate": ("Trùng lặp", "Duplicate"),
    "match.name": ("tên", "name"),
    "err.string_pattern_mismatch": ("Không đúng định dạng.", "Not in the expected format."),
    "flash.product_created": ("Đã thêm sản phẩm.", "Product added."),
    "flash.questionnaire_saved": ("Đã lưu phiếu xếp hạng.", "Questionnaire saved."),
    "flash.import_previewed": (
        "Đã đọc tệp. Kiểm tra kết quả rồi bấm nhập.",
        "File read. Check the report, then import.",
    ),
    "flash.import_committed": ("Đã nhập khách hàng.", "Customers imported."),
    # -- editing: leads, customers, quotes; channel and campaign pages; portfolio kinds ---
    "edit.blank_clears": ("Ô để trống sẽ xóa thông tin đó.", "A field left empty is cleared."),
    "lead.edit": ("Sửa thông tin", "Edit"),
    "lead.edit_title": ("Sửa khách hàng tiềm năng: {name}", "Edit lead: {name}"),
    "lead.save_anyway": ("Vẫn lưu", "Save anyway"),
    "lead.campaign_ended": ("(chiến dịch không còn chạy)", "(campaign no longer running)"),
    "lhistory.captured": ("Thêm mới", "Captured"),
    "lhistory.imported": ("Nhập từ tệp", "Imported"),
    "lhistory.updated": ("Sửa thông tin", "Edited"),
    "lhistory.contacted": ("Đã liên hệ", "Contacted"),
    "lhistory.evaluated": ("Đánh giá", "Evaluated"),
    "lhistory.disqualified": ("Loại bỏ", "Disqualified"),
    "lhistory.converted": ("Chuyển thành khách hàng", "Converted"),
    "lhistory.assigned": ("Giao người phụ trách", "Assigned"),
    "lhistory.merged": ("Gộp bản trùng vào", "Duplicate merged in"),
    "lhistory.merged_into": ("Được gộp vào bản khác", "Merged into another"),
    "customer.edit": ("Sửa thông tin", "Edit details"),
    "customer.edit_title": ("Sửa khách hàng: {name}", "Edit customer: {name}"),
    "customer.reassign": ("Giao cho người khác", "Reassign"),
    "customer.reassign_to": ("Người phụ trách", "Owner"),
    "customer.deactivate": ("Ngừng hoạt động khách hàng", "Deactivate the customer"),
    "customer.deactivate_hint": (
        "Khách hàng được giữ lại (không bị xóa); các hoạt động đã lên lịch sẽ bị hủy.",
        "The customer is kept (never deleted); its planned activities are cancelled.",
    ),
    "customer.deactivate_confirm": ("Tôi xác nhận ngừng hoạt động {name}", "I confirm deactivating {name}"),
    "customer.confirm_needed": ("Hãy đánh dấu ô xác nhận.", "Tick the box to confirm."),
    "quote.edit": ("Sửa báo giá", "Edit quote"),
    "quote.edit_title": ("Sửa báo giá {number}", "Edit quote {number}"),
    "quote.edit_back_to_draft": (
        "Báo giá đang ở trạng thái “{status}”. Lưu thay đổi sẽ đưa báo giá về nháp và cần gửi duyệt lại.",
        "This quote is “{status}”. Saving a change sends it back to draft; it needs approval again.",
    ),
    "quote.copy": ("Sao chép báo giá", "Copy quote"),
    "quote.by": ("Người thực hiện", "By"),
    "quote.by_system": ("Hệ thống", "System"),
    "quote.changes": ("Thay đổi", "Changes"),
    "qhistory.created": ("Tạo báo giá", "Created"),
    "qhistory.copied": ("Tạo từ bản sao", "Created as a copy"),
    "qhistory.edited": ("Sửa báo giá", "Edited"),
    "qhistory.submitted": ("Gửi duyệt", "Submitted"),
    "qhistory.credit_checked": ("Kiểm tra tín dụng", "Credit checked"),
    "qhistory.approved": ("Duyệt", "Approved"),
    "qhistory.rejected": ("Từ chối", "Rejected"),
    "qhistory.sent": ("Gửi khách hàng", "Sent"),
    "qhistory.accepted": ("Khách hàng chấp nhận", "Accepted"),
    "qhistory.declined": ("Khách hàng từ chối", "Declined"),
    "qhistory.expired": ("Hết hạn", "Expired"),
    "flash.quote_copied": ("Đã sao chép thành báo giá nháp mới.", "Copied to a new draft quote."),
    "channel.parent": ("Kênh cấp trên", "Parent channel"),
    "channel.children": ("Kênh cấp dưới", "Sub-channels"),
    "channel.no_parent": ("(không có)", "(none)"),
    "channel.edit": ("Sửa kênh", "Edit the channel"),
    "channel.kind_fixed": (
        "Loại kênh không đổi được sau khi tạo.",
        "A channel's kind cannot change once it is created.",
    ),
    "channel.coverage": ("Vùng phủ", "Coverage"),
    "channel.save_coverage": ("Lưu vùng phủ", "Save coverage"),
    "channel.assignments": ("Nhân viên kinh doanh theo tỉnh/thành", "Salespeople by province"),
    "channel.salespeople": ("Nhân viên kinh doanh", "Salespeople"),
    "channel.someone": ("(một nhân viên)", "(a member of staff)"),
    "channel.cover_first": (
        "Hãy chọn các tỉnh/thành kênh phủ trước, rồi giao nhân viên.",
        "Choose the provinces the channel covers first, then assign salespeople.",
    ),
    "channel.assign_hint": (
        "Mỗi tỉnh/thành có thể giao nhiều người: giữ Ctrl (hoặc ⌘) khi chọn.",
        "A province may have several people: hold Ctrl (or ⌘) to choose more than one.",
    ),
    "channel.save_assignments": ("Lưu phân công", "Save assignments"),
    "campaign.edit": ("Sửa chiến dịch", "Edit the campaign"),
    "campaign.target": ("Đối tượng nhắm đến", "Targeting"),
    "campaign.target_hint": (
        "Mục để trống nghĩa là “tất cả”; các mục được kết hợp (thỏa mãn tất cả).",
        "An empty item means “any”; the items combine (all must match).",
    ),
    "campaign.macro_regions": ("Miền", "Macro-regions"),
    "campaign.audience_live": (
        "tính theo dữ liệu hiện tại, cố định khi phát động",
        "as of now; fixed at launch",
    ),
    "campaign.audience_count": ("{n} khách hàng", "{n} customers"),
    "campaign.audience_empty": ("Không có khách hàng nào phù hợp.", "No customer matches."),
    "campaign.launched_at": ("Phát động lúc", "Launched"),
    "campaign.pages": ("Các trang đối tượng", "Audience pages"),
    "campaign.previous_page": ("Trang trước", "Previous page"),
    "campaign.next_page": ("Trang sau", "Next page"),
    "service.leads": ("Khách hàng tiềm năng", "Leads"),
    "service.customers": ("Khách hàng", "Customers"),
    "service.sales": ("Bán hàng", "Sales"),
    "service.accounting": ("Kế toán", "Accounting"),
    "service.marketing": ("Thị trường", "Marketing"),
    "holding.leads": ("Khách hàng tiềm năng", "Leads"),
    "holding.customers": ("Khách hàng", "Customers"),
    "holding.planned_activities": ("Hoạt động đã lên lịch", "Planned activities"),
    "holding.opportunities": ("Cơ hội bán hàng đang mở", "Open opportunities"),
    "holding.open_quotes": ("Báo giá đang mở", "Open quotes"),
    "holding.accounts": ("Tài khoản công nợ", "Receivable accounts"),
    "holding.channel_assignments": ("Phân công kênh theo tỉnh/thành", "Channel assignments"),
    # -- everyday fixes: grading with a chosen questionnaire, campaign grades --------------
    "customer.pick_questionnaire": ("Phiếu dùng để xếp hạng", "Questionnaire to grade with"),
    "customer.use_questionnaire": ("Dùng phiếu này", "Use this questionnaire"),
    "campaign.other_grades": ("Hạng khác", "Other grades"),
    "campaign.other_grades_hint": (
        "Hạng riêng, cách nhau bởi dấu phẩy; giữ nguyên như đã gõ",
        "Grades of your own, comma-separated; kept as typed",
    ),
}

CATALOGUES: dict[str, dict[str, str]] = {
    lang: {key: texts[i] for key, texts in MESSAGES.items()} for i, lang in enumerate(LANGUAGES)
}

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def language_or_default(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def translate(lang: str, key: str, **params: Any) -> str:
    text = CATALOGUES[language_or_default(lang)].get(key, key)
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def _grouped(value: int, separator: str) -> str:
    return f"{value:,}".replace(",", separator)


def money(lang: str, amount: int | float | None) -> str:
    """`1.234.567 ₫` in Vietnamese, `₫1,234,567` in English; dong have no minor unit."""
    if amount is None:
        return "—"
    whole = round(amount)
    sign = "-" if whole < 0 else ""
    if lang == "en":
        return f"{sign}₫{_grouped(abs(whole), ',')}"
    return f"{sign}{_grouped(abs(whole), '.')} ₫"


def number(lang: str, value: int | float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}"
    if lang == "en":
        return text
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def percent(lang: str, ratio: float | None, digits: int = 1) -> str:
    """A ratio (0.125) as a percentage: `12,5%` / `12.5%`."""
    if ratio is None:
        return "—"
    return f"{number(lang, ratio * 100, digits)}%"


def _as_date(value: date | datetime | str | None) -> date | datetime | None:
    if value is None or isinstance(value, date):
        return value
    text = str(value)
    try:
        if len(text) <= 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def format_date(lang: str, value: date | datetime | str | None) -> str:
    """`26/11/2026` in Vietnamese, `26 Nov 2026` in English; a moment in Vietnam's zone."""
    parsed = _as_date(value)
    if parsed is None:
        return "—" if value is None else str(value)
    if isinstance(parsed, datetime):
        parsed = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(ZONE).date()
    if lang == "en":
        return f"{parsed.day} {_MONTHS_EN[parsed.month - 1]} {parsed.year}"
    return f"{parsed.day:02d}/{parsed.month:02d}/{parsed.year}"


def format_datetime(lang: str, value: datetime | str | None) -> str:
    parsed = _as_date(value)
    if not isinstance(parsed, datetime):
        return format_date(lang, value)
    local = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(ZONE)
    day = format_date(lang, local.date())
    return f"{day}, {local:%H:%M}" if lang == "en" else f"{day} {local:%H:%M}"
