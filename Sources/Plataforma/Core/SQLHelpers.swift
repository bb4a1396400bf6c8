import FluentKit
import FluentSQL
import SQLKit
import Vapor

/// Filters written once in SQLKit that both databases understand.
public enum SQLFilters {
    /// `table.column IN (SELECT …)`.
    public static func columnIn(_ column: String, of table: String,
                                _ build: (any SQLSubqueryClauseBuilder) -> any SQLSubqueryClauseBuilder) -> DatabaseQuery.Filter {
        .sql(SQLBinaryExpression(SQLColumn(column, table: table), .in, SQLGroupExpression(SQLSubquery.select(build))))
    }

    /// `lower(expression) LIKE ? ESCAPE '\'`, with `%` and `_` in `term` taken literally.
    public static func containsInsensitive(_ expression: any SQLExpression, _ term: String) -> any SQLExpression {
        SQLLikeEscaped(left: SQLFunction("lower", args: expression), pattern: "%" + SearchFilter.escapeLike(term.lowercased()) + "%")
    }
}

extension Paginator {
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
}

/// `CAST(SUM(column) AS BIGINT)`: PostgreSQL sums integers as NUMERIC; both databases then agree on an integer.
public struct SQLIntegerSum: SQLExpression {
    let column: String

    public init(_ column: String) { self.column = column }

    public func serialize(to serializer: inout SQLSerializer) {
        serializer.write("CAST(SUM(")
        SQLColumn(column).serialize(to: &serializer)
        serializer.write(") AS BIGINT)")
    }
}
