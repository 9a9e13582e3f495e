"""Every string a person reads in the web app, in Chinese and English. A missing key raises
KeyError, so an untranslated string fails a test instead of showing a key on a page."""

from __future__ import annotations

ZH, EN = "zh-CN", "en"
LANGUAGES = (ZH, EN)


def normalise(language: str | None) -> str | None:
    """``zh``, ``zh-CN``, ``zh-Hans``… as zh-CN; ``en``, ``en-GB``… as en; anything else as None."""
    if not language:
        return None
    low = language.strip().lower()
    if low.startswith("zh"):
        return ZH
    if low.startswith("en"):
        return EN
    return None


def from_accept_language(header: str | None) -> str:
    """The first of the browser's languages the app speaks, Chinese otherwise."""
    for part in (header or "").split(","):
        found = normalise(part.split(";")[0])
        if found:
            return found
    return ZH


def translate(language: str, key: str, **values: object) -> str:
    zh, en = MESSAGES[key]
    text = zh if language == ZH else en
    return text.format(**values) if values else text


MESSAGES: dict[str, tuple[str, str]] = {
    "app.name": ("硬科技直通车", "Hard-Tech Express"),
    "app.tagline": ("科技成果直通车·硬科技专场：五方联动，精准对接", "Technology-transfer matchmaking for hard-tech sessions"),
    "nav.home": ("首页", "Home"),
    "nav.items": ("我的供需", "My offers and needs"),
    "nav.matches": ("我的匹配", "My matches"),
    "nav.teams": ("五方组队", "Five-party teams"),
    "nav.sessions": ("专场活动", "Sessions"),
    "nav.agenda": ("我的日程", "My agenda"),
    "nav.inbox": ("收件箱", "Inbox"),
    "nav.organise": ("活动组织", "Organise"),
    "nav.signin": ("登录", "Sign in"),
    "nav.signup": ("注册", "Sign up"),
    "nav.signout": ("退出", "Sign out"),
    "nav.language": ("English", "中文"),
    "nav.language_label": ("切换到英文", "Switch to Chinese"),
    "nav.main": ("主导航", "Main navigation"),
    "nav.unread": ("未读 {count} 条", "{count} unread"),
    "nav.skip": ("跳到正文", "Skip to content"),
    "nav.dashboard": ("运维看板", "Operations dashboard"),
    "signin.title": ("使用 API 密钥登录", "Sign in with your API key"),
    "signin.key": ("API 密钥", "API key"),
    "signin.key_help": ("注册时只显示一次的密钥；它不会保存在浏览器中。",
                        "The key shown once when you signed up; it is not stored in your browser."),
    "signin.submit": ("登录", "Sign in"),
    "signin.bad_key": ("密钥无效，请检查后重试。", "That key is not valid. Check it and try again."),
    "signin.throttled": ("尝试次数过多，请稍后再试。", "Too many attempts. Try again later."),
    "signin.no_account": ("还没有账号？", "No account yet?"),
    "signin.expired": ("登录已过期，请重新登录。", "Your sign-in has expired. Please sign in again."),
    "signup.title": ("注册参与方", "Sign up as a participant"),
    "signup.party_type": ("参与方类型", "Party type"),
    "signup.organisation_zh": ("机构名称（中文）", "Organisation (Chinese)"),
    "signup.organisation_en": ("机构名称（英文）", "Organisation (English)"),
    "signup.display_name_zh": ("联系人或部门（中文）", "Contact or department (Chinese)"),
    "signup.display_name_en": ("联系人或部门（英文）", "Contact or department (English)"),
    "signup.region": ("所在地区", "Region"),
    "signup.fields": ("关注领域", "Fields"),
    "signup.language": ("通知语言", "Language of notifications"),
    "signup.email": ("电子邮箱（可选）", "E-mail (optional)"),
    "signup.submit": ("注册", "Sign up"),
    "signup.one_language": ("中文或英文至少填写一项。", "Give it in Chinese, English or both."),
    "signup.done_title": ("注册成功", "You are signed up"),
    "signup.done_key": ("这是您的 API 密钥，只显示这一次。请妥善保存，以后用它登录。",
                        "This is your API key, shown this once. Keep it safe: you sign in with it."),
    "signup.continue": ("进入首页", "Continue"),
    "form.errors": ("请修改标出的内容。", "Please correct the marked fields."),
    "form.save": ("保存", "Save"),
    "form.cancel": ("取消", "Cancel"),
    "form.choose": ("请选择", "Choose"),
    "form.none": ("不限", "Any"),
    "form.required": ("必填", "required"),
    "form.csrf": ("表单已过期，请刷新页面后重试。", "This form has expired. Reload the page and try again."),
    "home.title": ("欢迎，{name}", "Welcome, {name}"),
    "home.anonymous": ("发布技术成果与需求，获得可解释的精准匹配，参加各地硬科技专场的一对一洽谈。",
                       "Post offers and needs, get explained matches, and meet 1:1 at hard-tech sessions across China."),
    "home.offers": ("供给 {count} 条", "{count} offers"),
    "home.needs": ("需求 {count} 条", "{count} needs"),
    "home.matches": ("匹配 {count} 个", "{count} matches"),
    "home.top_matches": ("最佳匹配", "Best matches"),
    "home.no_matches": ("暂无匹配。发布供给或需求后，匹配会自动出现。",
                        "No matches yet. They appear on their own once you post offers or needs."),
    "home.profile": ("{party} · {region}", "{party} · {region}"),
    "items.title": ("我的供给与需求", "My offers and needs"),
    "items.offers": ("供给（成果、资金、服务、政策）", "Offers (technology, capital, services, policy)"),
    "items.needs": ("需求", "Needs"),
    "items.new_offer": ("发布供给", "Post an offer"),
    "items.new_need": ("发布需求", "Post a need"),
    "items.none": ("暂无。", "None yet."),
    "items.edit": ("编辑", "Edit"),
    "items.withdraw": ("撤回", "Withdraw"),
    "items.withdrawn_done": ("已撤回。", "Withdrawn."),
    "items.saved": ("已保存。", "Saved."),
    "item.new_offer_title": ("发布供给", "Post an offer"),
    "item.new_need_title": ("发布需求", "Post a need"),
    "item.edit_title": ("编辑：{title}", "Edit: {title}"),
    "item.kind": ("类型", "Kind"),
    "item.title_zh": ("标题（中文）", "Title (Chinese)"),
    "item.title_en": ("标题（英文）", "Title (English)"),
    "item.description_zh": ("描述（中文）", "Description (Chinese)"),
    "item.description_en": ("描述（英文）", "Description (English)"),
    "item.fields": ("技术领域", "Fields"),
    "item.keywords": ("关键词（用逗号分隔）", "Keywords (separated by commas)"),
    "item.trl": ("技术成熟度（TRL 1–9）", "Technology readiness (TRL 1–9)"),
    "item.amount_min": ("金额下限（万元）", "Amount from (10k CNY)"),
    "item.amount_max": ("金额上限（万元）", "Amount up to (10k CNY)"),
    "item.region": ("所在地区", "Region"),
    "item.status": ("状态", "Status"),
    "item.not_a_number": ("请输入数字。", "Enter a number."),
    "item.post": ("发布", "Post"),
    "status.open": ("开放", "Open"),
    "status.draft": ("草稿", "Draft"),
    "status.closed": ("已关闭", "Closed"),
    "status.withdrawn": ("已撤回", "Withdrawn"),
    "status.expired": ("已过期", "Expired"),
    "kind.technology": ("技术成果", "Technology"),
    "kind.capital": ("资金", "Capital"),
    "kind.service": ("服务", "Service"),
    "kind.policy": ("政策", "Policy"),
    "matches.title": ("我的匹配", "My matches"),
    "matches.none": ("暂无匹配。", "No matches yet."),
    "matches.rank": ("第 {rank} 名", "No. {rank}"),
    "matches.score": ("匹配度 {score}%", "Score {score}%"),
    "matches.with": ("对方：{name}", "With {name}"),
    "matches.their_item": ("对方条目", "Their item"),
    "matches.my_item": ("我的条目", "My item"),
    "matches.why": ("匹配理由", "Why this match"),
    "matches.parts": ("得分构成", "Score parts"),
    "matches.part": ("{name}：{value}%（权重 {weight}%，贡献 {contribution} 分）",
                     "{name}: {value}% (weight {weight}%, adds {contribution} points)"),
    "matches.accept": ("接受", "Accept"),
    "matches.decline": ("拒绝", "Decline"),
    "matches.reason": ("拒绝原因", "Reason for declining"),
    "matches.comment": ("补充说明（可选）", "Comment (optional)"),
    "matches.feedback_sent": ("已提交您的反馈。", "Your answer was sent."),
    "matches.retracted": ("已撤销", "Retracted"),
    "feature.field": ("领域", "Field"),
    "feature.text": ("内容相似度", "Text similarity"),
    "feature.trl": ("成熟度", "Readiness"),
    "feature.amount": ("金额", "Amount"),
    "feature.region": ("地区", "Region"),
    "feature.party": ("参与方组合", "Party pairing"),
    "feature.freshness": ("时效", "Freshness"),
    "reason.too_early_stage": ("阶段过早", "Too early a stage"),
    "reason.no_clear_benefit": ("收益不明确", "No clear benefit"),
    "reason.route_to_market_unclear": ("市场路径不清晰", "Route to market unclear"),
    "reason.not_our_field": ("不属于我们的领域", "Not our field"),
    "reason.other": ("其他", "Other"),
    "error.title": ("出错了", "Something went wrong"),
    "error.not_found": ("找不到该页面。", "That page does not exist."),
    "error.forbidden": ("您没有权限执行此操作。", "You are not allowed to do that."),
    "error.unavailable": ("服务暂时不可用，请稍后再试。", "A service is not available right now. Try again shortly."),
    "error.conflict": ("无法完成：{detail}", "Not possible: {detail}"),
    "unknown.participant": ("（未知参与方）", "(unknown participant)"),
    "teams.title": ("推荐的五方组队", "Proposed five-party teams"),
    "teams.help": ("围绕一项技术匹配，推荐成果方、需求方、资金、服务与政策五方组队。",
                   "Around one technology match: a provider, a seeker, capital, services and policy."),
    "teams.none": ("暂无推荐的组队。", "No team proposed yet."),
    "teams.score": ("组队得分 {score}%", "Team score {score}%"),
    "teams.missing": ("尚缺：{roles}", "Still missing: {roles}"),
    "teams.complete": ("五方齐备。", "All five roles are filled."),
    "teams.you": ("（您）", "(you)"),
    "consortium_role.technology_provider": ("成果提供方", "Technology provider"),
    "consortium_role.technology_seeker": ("技术需求方", "Technology seeker"),
    "consortium_role.capital": ("资金方", "Capital"),
    "consortium_role.service": ("服务方", "Services"),
    "consortium_role.policy": ("政策方", "Policy"),
    "nav.preferences": ("通知设置", "Notifications"),
    "prefs.title": ("通知设置", "Notification settings"),
    "prefs.channels": ("通知渠道（收件箱始终开启）", "Channels (the inbox is always on)"),
    "prefs.stream": ("网页实时推送", "Live updates in the app"),
    "prefs.email_enabled": ("电子邮件", "E-mail"),
    "prefs.email_address": ("电子邮箱（默认用注册邮箱）", "E-mail address (default: your profile's)"),
    "prefs.webhook_enabled": ("Webhook 推送", "Webhook"),
    "prefs.webhook_url": ("Webhook 地址", "Webhook URL"),
    "prefs.rotate": ("生成新的 Webhook 签名密钥", "Issue a new webhook signing secret"),
    "prefs.secret": ("新的 Webhook 签名密钥（只显示这一次）：", "Your new webhook signing secret (shown this once):"),
    "prefs.webhook_disabled": ("Webhook 已因多次失败停用，保存设置可重新启用。", "The webhook was switched off after repeated failures; saving turns it back on."),
    "prefs.categories": ("通知类别", "What to be told about"),
    "category.match": ("匹配", "Matches"),
    "category.consortium": ("五方组队", "Five-party teams"),
    "category.agenda": ("洽谈日程", "Agendas"),
    "category.registration": ("报名", "Registrations"),
    "prefs.delivery": ("发送方式（邮件与 Webhook）", "Delivery (e-mail and webhook)"),
    "delivery.immediate": ("即时", "At once"),
    "delivery.digest": ("汇总", "As a digest"),
    "prefs.min_match_score": ("只通知匹配度不低于（%）", "Only matches scoring at least (%)"),
    "prefs.language": ("通知语言", "Language of notifications"),
    "prefs.saved": ("设置已保存。", "Settings saved."),
    "sessions.title": ("专场活动", "Sessions"),
    "sessions.filter": ("筛选", "Filter"),
    "sessions.city": ("城市", "City"),
    "sessions.zone": ("高新区", "High-tech zone"),
    "sessions.field": ("领域", "Field"),
    "sessions.none": ("没有符合条件的专场。", "No session matches."),
    "sessions.when": ("时间", "When"),
    "sessions.where": ("地点", "Where"),
    "sessions.fields": ("领域", "Fields"),
    "sessions.seats": ("席位", "Seats"),
    "sessions.seats_of": ("路演 {presenters}/{presenter_capacity}，观众 {attendees}/{attendee_capacity}，候补 {waitlisted}",
                          "presenters {presenters}/{presenter_capacity}, attendees {attendees}/{attendee_capacity}, waitlist {waitlisted}"),
    "sessions.open": ("报名中", "Open for registration"),
    "sessions.closed": ("报名已截止", "Registration closed"),
    "sessions.registration_until": ("报名截止：{when}", "Register by {when}"),
    "sessions.times_in": ("时间均为{zone}", "Times are {zone}"),
    "sessions.details": ("查看详情", "Details"),
    "session.register": ("报名", "Register"),
    "session.role": ("参加身份", "Take part as"),
    "role.presenter": ("路演方", "Presenter"),
    "role.attendee": ("观众", "Attendee"),
    "session.listings": ("路演成果（路演方必选）", "Offers to pitch (presenters choose at least one)"),
    "session.my_registration": ("我的报名", "My registration"),
    "session.status": ("状态：{status}", "Status: {status}"),
    "registration.confirmed": ("已确认", "Confirmed"),
    "registration.waitlisted": ("候补中", "On the waitlist"),
    "registration.cancelled": ("已取消", "Cancelled"),
    "registration.checked_in": ("已签到", "Checked in"),
    "registration.no_show": ("未到场", "No-show"),
    "session.waitlist_position": ("候补第 {position} 位", "Waitlist position {position}"),
    "session.check_in": ("签到二维码", "Check-in QR code"),
    "session.check_in_help": ("到场时请出示此二维码，或告知签到码：{code}", "Show this code at the door, or tell them the code: {code}"),
    "session.qr_alt": ("签到码 {code} 的二维码", "QR code of check-in code {code}"),
    "session.meetings": ("一对一洽谈请求", "1:1 meeting requests"),
    "session.meetings_help": ("从您的匹配对象中选择想见（或不想见）的参与方。", "Choose whom of your matches you want (or do not want) to meet."),
    "session.meeting_with": ("洽谈对象", "Meet"),
    "session.preference": ("意愿", "Wish"),
    "preference.must_meet": ("必须见面", "Must meet"),
    "preference.would_like": ("希望见面", "Would like to meet"),
    "preference.decline": ("不希望见面", "Decline to meet"),
    "session.request": ("提交", "Send"),
    "session.requested": ("已提交洽谈请求。", "Your meeting request was sent."),
    "session.registered": ("报名已提交。", "You are registered."),
    "session.no_matches": ("暂无可请求的匹配对象。", "No matches to ask for yet."),
    "agenda.title": ("我的日程", "My agenda"),
    "agenda.none": ("暂无安排。报名截止后，系统会为您安排一对一洽谈。", "Nothing planned yet. 1:1 meetings are planned once registration closes."),
    "agenda.download": ("下载日历（.ics）", "Download calendar (.ics)"),
    "agenda.time": ("时间", "Time"),
    "agenda.table": ("桌号", "Table"),
    "agenda.with": ("洽谈对象", "With"),
    "agenda.table_no": ("{table} 号桌", "Table {table}"),
    "agenda.must_meet": ("必见", "must meet"),
    "inbox.title": ("收件箱", "Inbox"),
    "inbox.none": ("没有通知。", "No notifications."),
    "inbox.unread": ("未读", "Unread"),
    "inbox.mark_read": ("标为已读", "Mark as read"),
    "organise.title": ("活动组织", "Organise"),
    "organise.mine": ("我组织的专场", "My sessions"),
    "organise.none": ("您还没有组织专场。", "You have not organised a session yet."),
    "organise.new": ("创建专场", "Create a session"),
    "organise.manage": ("管理", "Manage"),
    "organise.title_zh": ("专场名称（中文）", "Title (Chinese)"),
    "organise.title_en": ("专场名称（英文）", "Title (English)"),
    "organise.fields": ("领域", "Fields"),
    "organise.city": ("城市", "City"),
    "organise.zone": ("国家高新区（可选）", "National high-tech zone (optional)"),
    "organise.venue": ("会场", "Venue"),
    "organise.starts_at": ("开始时间（当地时间）", "Starts (local time)"),
    "organise.ends_at": ("结束时间（当地时间）", "Ends (local time)"),
    "organise.registration_closes_at": ("报名截止（当地时间）", "Registration closes (local time)"),
    "organise.presenters": ("路演席位", "Presenter seats"),
    "organise.attendees": ("观众席位", "Attendee seats"),
    "organise.quotas": ("各类参与方席位上限（可选）", "Most seats per party type (optional)"),
    "organise.first_slot_at": ("首轮洽谈开始（当地时间）", "First meeting slot (local time)"),
    "organise.slot_minutes": ("每轮分钟数", "Minutes per slot"),
    "organise.slots": ("洽谈轮数", "Slots"),
    "organise.tables": ("洽谈桌数", "Tables"),
    "organise.create": ("创建", "Create"),
    "organise.created": ("专场已创建。", "The session is created."),
    "organise.edit": ("编辑专场", "Edit the session"),
    "organise.updated": ("专场已更新。", "The session is updated."),
    "organise.bad_time": ("请填写日期和时间。", "Enter a date and time."),
    "organise.registrations": ("报名情况", "Registrations"),
    "organise.waitlist": ("候补名单", "Waitlist"),
    "organise.no_registrations": ("暂无报名。", "No registrations yet."),
    "organise.participant": ("参与方", "Participant"),
    "organise.party": ("类型", "Party type"),
    "organise.role": ("身份", "Role"),
    "organise.status": ("状态", "Status"),
    "organise.close": ("截止报名", "Close registration"),
    "organise.closed": ("报名已截止。洽谈议程将自动生成。", "Registration is closed. The agenda is planned next."),
    "organise.board": ("洽谈议程（桌 × 轮）", "Agenda board (tables × slots)"),
    "organise.no_board": ("议程尚未生成。", "No agenda yet."),
    "organise.slot": ("时段", "Slot"),
    "organise.check_in": ("签到", "Check-in"),
    "organise.code": ("签到码", "Check-in code"),
    "organise.check_in_submit": ("签到", "Check in"),
    "organise.checked_in": ("{name} 已签到。", "{name} is checked in."),
    "organise.scan": ("用摄像头扫码", "Scan with the camera"),
    "organise.no_camera": ("无法使用摄像头，请手动输入签到码。", "The camera cannot be used: type the code instead."),
}

# Pydantic's error types, as the services' 422 bodies carry them; messages of type value_error are
# the services' own, already bilingual ("english / 中文"), and are split by ``bilingual``.
ERROR_TYPES: dict[str, tuple[str, str]] = {
    "missing": ("必填。", "Required."),
    "string_too_short": ("内容太短。", "Too short."),
    "string_too_long": ("内容太长。", "Too long."),
    "too_short": ("请至少选择一项。", "Choose at least one."),
    "too_long": ("选择的项目过多。", "Too many chosen."),
    "greater_than_equal": ("超出允许的范围。", "Out of the allowed range."),
    "less_than_equal": ("超出允许的范围。", "Out of the allowed range."),
    "greater_than": ("超出允许的范围。", "Out of the allowed range."),
    "less_than": ("超出允许的范围。", "Out of the allowed range."),
    "enum": ("不是可选的值。", "Not one of the choices."),
    "literal_error": ("不是可选的值。", "Not one of the choices."),
    "string_pattern_mismatch": ("格式不正确。", "Not in the right format."),
    "url_parsing": ("请输入完整的网址。", "Enter a full web address."),
    "url_scheme": ("请输入完整的网址。", "Enter a full web address."),
    "int_parsing": ("请输入整数。", "Enter a whole number."),
    "float_parsing": ("请输入数字。", "Enter a number."),
}
NOT_VALID = ("内容无效。", "Not valid.")


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def bilingual(text: str, language: str) -> str:
    """The part of a service's "english / 中文" (or "english (中文)") message in ``language``."""
    text = text.removeprefix("Value error, ")
    if " / " in text:
        parts = [p.strip() for p in text.split(" / ")]
        chinese = [p for p in parts if has_chinese(p)]
        other = [p for p in parts if not has_chinese(p)]
        if chinese and other:
            return " / ".join(chinese if language == ZH else other)
    if text.endswith(")") and " (" in text:
        head, _, tail = text[:-1].rpartition(" (")
        if has_chinese(tail) and not has_chinese(head):
            return tail if language == ZH else head
    return text


def error_message(error: dict[str, object], language: str) -> str:
    """One entry of a 422 body's ``detail`` as a sentence in ``language``."""
    kind = str(error.get("type", ""))
    if kind in ERROR_TYPES:
        zh, en = ERROR_TYPES[kind]
        return zh if language == ZH else en
    message = str(error.get("msg", ""))
    localised = bilingual(message, language)
    if localised != message.removeprefix("Value error, ") or has_chinese(message) == (language == ZH):
        return localised
    zh, en = NOT_VALID
    return zh if language == ZH else en
