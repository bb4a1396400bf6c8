import FluentKit
import FluentSQL
import SQLKit
import Foundation
import Vapor

/// DRF's `PageNumberPagination`: `?page=N&page_size=M` (default 20, max 100).
public struct PageRequest: Sendable {
    public static let defaultSize = 20
    public static let maxSize = 100

    /// The requested page number; `nil` for DRF's `page=last`.
    public let page: Int?
    public let size: Int

    /// Invalid `page` values are 404 `Página inválida.` (as DRF); invalid `page_size` falls back to the default.
    public init(_ request: Request) throws {
        let rawPage = request.queryParameter("page")
        switch rawPage {
        case nil: self.page = 1
        case "last": self.page = nil
        case let raw?:
            guard let page = Int(raw), page >= 1 else { throw APIError.invalidPage }
            self.page = page
        }
        if let rawSize = request.queryParameter("page_size"), let size = Int(rawSize), size > 0 {
            self.size = min(size, Self.maxSize)
        } else {
            self.size = Self.defaultSize
        }
    }

    /// The page number after resolving `last` against `count`, or 404 when out of range.
    func resolvedPage(count: Int) throws -> Int {
        let pages = max(1, (count + size - 1) / size)
        let page = self.page ?? pages
        guard page <= pages else { throw APIError.invalidPage }
        return page
    }
}

/// `{"count", "next", "previous", "results"}` with absolute links.
public struct Page<Item: Content>: Content {
    public let count: Int
    public let next: String?
    public let previous: String?
    public let results: [Item]

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: DynamicKey.self)
        try container.encode(count, forKey: DynamicKey("count"))
        try container.encode(next, forKey: DynamicKey("next"))
        try container.encode(previous, forKey: DynamicKey("previous"))
        try container.encode(results, forKey: DynamicKey("results"))
    }
}

public enum Paginator {
    /// Pages a Fluent query (counted, then ranged) and maps each model to its DTO.
    public static func paginate<Model: FluentKit.Model, Item: Content>(
        _ query: QueryBuilder<Model>, request: Request, map: (Model) throws -> Item
    ) async throws -> Page<Item> {
        try await paginate(query, request: request, mapPage: { try $0.map(map) })
    }

    /// Pages a query and maps the whole page at once (to batch-load related rows).
    public static func paginate<Model: FluentKit.Model, Item: Content>(
        _ query: QueryBuilder<Model>, request: Request, mapPage: ([Model]) async throws -> [Item]
    ) async throws -> Page<Item> {
        let pageRequest = try PageRequest(request)
        let count = try await query.copy().count()
        let page = try pageRequest.resolvedPage(count: count)
        let offset = (page - 1) * pageRequest.size
        let models = try await query.range(offset..<(offset + pageRequest.size)).all()
        return try makePage(request: request, count: count, page: page, size: pageRequest.size, results: try await mapPage(models))
    }

    /// Pages an in-memory list (small, fixed collections such as roles).
    public static func paginate<Item: Content>(_ items: [Item], request: Request) throws -> Page<Item> {
        let pageRequest = try PageRequest(request)
        let page = try pageRequest.resolvedPage(count: items.count)
        let start = min(items.count, (page - 1) * pageRequest.size)
        let end = min(items.count, start + pageRequest.size)
        return try makePage(request: request, count: items.count, page: page, size: pageRequest.size,
                             results: Array(items[start..<end]))
    }

    static func makePage<Item: Content>(request: Request, count: Int, page: Int, size: Int, results: [Item]) throws -> Page<Item> {
        let hasNext = page * size < count
        let next = hasNext ? AbsoluteURL.replacing(request, query: "page", with: String(page + 1)) : nil
        let previous: String?
        if page <= 1 {
            previous = nil
        } else if page == 2 {
            previous = AbsoluteURL.replacing(request, query: "page", with: nil)
        } else {
            previous = AbsoluteURL.replacing(request, query: "page", with: String(page - 1))
        }
        return Page(count: count, next: next, previous: previous, results: results)
    }
}

/// Absolute URLs of the current request as the client sees them, honouring `X-Forwarded-Proto`
/// and `X-Forwarded-Host` only from `TRUSTED_PROXIES`.
public enum AbsoluteURL {
    public static func base(_ request: Request) -> String {
        let settings = request.application.settings
        let trusted = ClientAddress.isTrustedPeer(request, trusted: settings.trustedProxies)
        var scheme = "http"
        var host = request.headers.first(name: .host) ?? "\(settings.host):\(settings.port)"
        if trusted {
            if let proto = request.headers.first(name: "X-Forwarded-Proto")?.split(separator: ",").first?
                .trimmingCharacters(in: .whitespaces).lowercased(), proto == "https" || proto == "http" {
                scheme = proto
            }
            if let forwardedHost = request.headers.first(name: "X-Forwarded-Host")?.split(separator: ",").first?
                .trimmingCharacters(in: .whitespaces), !forwardedHost.isEmpty {
                host = forwardedHost
            }
        }
        if !isPlausibleHost(host) { host = "\(settings.host):\(settings.port)" }
        return "\(scheme)://\(host)"
    }

    /// The request's URL with one query parameter replaced (or removed when `value` is nil).
    public static func replacing(_ request: Request, query name: String, with value: String?) -> String {
        var components = URLComponents()
        components.percentEncodedPath = request.url.path
        var items = (URLComponents(string: "http://x\(request.url.string)")?.queryItems ?? [])
            .filter { $0.name != name }
        if let value { items.append(URLQueryItem(name: name, value: value)) }
        components.queryItems = items.isEmpty ? nil : items
        return base(request) + (components.string ?? request.url.path)
    }

    /// A Host header is echoed into links: only hostname[:port] shapes are.
    static func isPlausibleHost(_ host: String) -> Bool {
        !host.isEmpty && host.count <= 255 && host.unicodeScalars.allSatisfy {
            CharacterSet.alphanumerics.contains($0) || ".-:[]_".unicodeScalars.contains($0)
        }
    }
}

extension Paginator {
    /// Where a row-level page gets its total: the query's own `COUNT(*)`, or an exact counter kept
    /// elsewhere (e.g. by triggers) that stands for an unfiltered query.
    public enum Total: Sendable {
        case count
        case expression(any SQLExpression & Sendable)
    }

    /// Pages a Fluent query in one statement read straight from SQL: the filtered, ordered query
    /// selects `columns` plus the total as an uncorrelated scalar subquery (computed once, on an
    /// index when it can; the page itself stays a LIMITed scan in order), and `decode` turns each
    /// row into what `mapPage` needs — no models, so no reflection. An empty page past the first
    /// is out of range (404), as DRF answers; `page=last` needs the count first (one statement more).
    public static func paginateRows<Model: FluentKit.Model, Row, Item: Content>(
        _ query: QueryBuilder<Model>, request: Request, columns: [FieldKey], total: Total = .count,
        decode: (any SQLRow) throws -> Row, mapPage: ([Row]) async throws -> [Item]
    ) async throws -> Page<Item> {
        let pageRequest = try PageRequest(request)
        guard let sql = query.database as? any SQLDatabase else { throw APIError.serverError }
        let page: Int
        if let requested = pageRequest.page {
            page = requested
        } else {
            page = try pageRequest.resolvedPage(count: try await query.copy().count())
        }
        let converter = SQLQueryConverter(delegate: ReadOnlyConverterDelegate())
        let totalExpression: any SQLExpression
        switch total {
        case .expression(let expression):
            totalExpression = expression
        case .count:
            var counting = query.copy().query
            counting.action = .aggregate(.field(.path([.id], schema: Model.schema), .count))
            counting.sorts = []
            counting.fields = []
            totalExpression = converter.convert(counting)
        }
        let offset = (page - 1) * pageRequest.size
        var select = query.copy().range(offset..<(offset + pageRequest.size)).query
        select.fields = columns.map { .path([$0], schema: Model.schema) }
            + [.custom(SQLAlias(SQLGroupExpression(totalExpression), as: SQLIdentifier(Self.totalColumn)))]
        let rows = try await SQLRawExpressionFetcher(expression: converter.convert(select), database: sql).all()
        if rows.isEmpty, page > 1 { throw APIError.invalidPage }
        // An empty first page still has its total: no rows means none matched.
        let count = try rows.first?.decode(column: Self.totalColumn, as: Int.self) ?? 0
        return try makePage(request: request, count: count, page: page, size: pageRequest.size,
                            results: try await mapPage(try rows.map(decode)))
    }

    static let totalColumn = "plataforma_total"

    /// The alias Fluent's converter gives `column` of `schema` in a read (`mentores_nombre`).
    public static func alias(_ column: String, of schema: String) -> String { "\(schema)_\(column)" }
}

/// Fluent's query converter needs a delegate; reads use none of its schema hooks.
struct ReadOnlyConverterDelegate: SQLConverterDelegate {
    func customDataType(_ dataType: DatabaseSchema.DataType) -> (any SQLExpression)? { nil }
}

/// Runs one SQL expression and collects its rows.
final class SQLRawExpressionFetcher: SQLQueryFetcher {
    let query: any SQLExpression
    let database: any SQLDatabase

    init(expression: any SQLExpression, database: any SQLDatabase) {
        self.query = expression
        self.database = database
    }
}
