import Fluent
import Vapor

/// `{"url"}`: the caller's iCalendar feed URL.
struct FeedURLDTO: Content {
    var url: String
}

/// `/api/agenda/`: a mentor's classes, hour records and appointments over a date range, as JSON
/// and as an iCalendar feed. Mentors get their own agenda only; asking for another mentor's is 404.
struct AgendaController: RouteCollection {
    static let maxRangeDays = 366
    /// The feed's default window, relative to today.
    static let feedDaysBack = 30
    static let feedDaysAhead = 180

    func boot(routes: any RoutesBuilder) throws {
        let agenda = routes.grouped("agenda")
        agenda.get(use: list)
        agenda.get("ics", "token", use: feedURL)
        agenda.post("ics", "token", use: replaceFeedURL)
    }

    /// The feed itself, for routes outside JSON negotiation and Bearer authentication: calendar
    /// apps send neither a token header nor `Accept: application/json`.
    func bootFeed(routes: any RoutesBuilder) {
        routes.grouped("agenda").get("ics", use: feed)
    }

    /// `?desde&hasta` (required, at most 366 days) `[&mentor][&grupo]`: a plain list sorted by start.
    @Sendable func list(req: Request) async throws -> [AgendaItemDTO] {
        try req.authorize(.leer, on: .horarios)
        guard let query = try await Self.query(req, user: try req.requireUser(), defaults: nil) else { return [] }
        return try await Self.entries(query, req: req).map(\.item)
    }

    @Sendable func feedURL(req: Request) async throws -> FeedURLDTO {
        try req.authorize(.leer, on: .horarios)
        let token = try await AgendaFeedToken.current(for: try req.requireUser(), secretKey: req.application.settings.secretKey,
                                                      on: req.db)
        return FeedURLDTO(url: AgendaFeedToken.url(token, for: req))
    }

    @Sendable func replaceFeedURL(req: Request) async throws -> FeedURLDTO {
        try req.authorize(.leer, on: .horarios)
        let user = try req.requireUser()
        let secretKey = req.application.settings.secretKey
        let token = try await req.writeTransaction { db in
            let token = try await AgendaFeedToken.replace(for: user, secretKey: secretKey, on: db)
            try await req.audit(.revocarToken, "agenda", id: user.id, on: db)
            return token
        }
        return FeedURLDTO(url: AgendaFeedToken.url(token, for: req))
    }

    /// `GET /api/agenda/ics/?token=…[&desde&hasta]`: the token's owner's agenda, by default from
    /// 30 days back to 180 days ahead. A missing or unknown token is 401.
    @Sendable func feed(req: Request) async throws -> Response {
        guard let token = req.queryParameter("token"), !token.isEmpty else { throw APIError.notAuthenticated }
        let settings = req.application.settings
        let user = try await AgendaFeedToken.user(for: token, secretKey: settings.secretKey, on: req.db)
        req.loggedUserID = user.id
        let today = LocalDate.today(in: settings.timeZone)
        let window = today.adding(days: -Self.feedDaysBack)...today.adding(days: Self.feedDaysAhead)
        var entries: [AgendaEntry] = []
        if let query = try await Self.query(req, user: user, defaults: window) { entries = try await Self.entries(query, req: req) }
        let name = "Agenda · \([user.nombre, user.apellidos].filter { !$0.isEmpty }.joined(separator: " "))"
        let response = Response(status: .ok, body: .init(string: ICalendar.render(entries, name: name, now: Date())))
        response.headers.replaceOrAdd(name: .contentType, value: "text/calendar; charset=utf-8")
        response.headers.replaceOrAdd(name: .cacheControl, value: "private, max-age=300")
        return response
    }

    /// The validated query for `user`, or nil when they can have no entries (a mentor account
    /// without a profile). Mentors are limited to their own profile.
    static func query(_ req: Request, user: Usuario, defaults: ClosedRange<LocalDate>?) async throws -> AgendaQuery? {
        var filters = QueryFilters(req)
        let range = filters.dateRange(maxDays: maxRangeDays, defaults: defaults)
        var mentor = filters.id("mentor")
        let grupo = filters.id("grupo")
        try filters.finish()
        guard let range else { throw APIError.parseError }
        if Permisos.alcance(user.rol, .leer, on: .registroHoras) == .propio {
            let own = try await user.mentorProfile(on: req.db)?.id
            if let mentor, mentor != own { throw APIError.notFound }
            guard let own else { return nil }
            mentor = own
        }
        return AgendaQuery(desde: range.lowerBound, hasta: range.upperBound, mentor: mentor, grupo: grupo)
    }

    static func entries(_ query: AgendaQuery, req: Request) async throws -> [AgendaEntry] {
        var entries = try await Agenda.entries(query, on: req.db, timeZone: req.application.settings.timeZone)
        if let provider = req.application.citasProvider {
            entries += try await provider.citas(for: query, request: req)
        }
        return Agenda.sorted(entries)
    }
}
