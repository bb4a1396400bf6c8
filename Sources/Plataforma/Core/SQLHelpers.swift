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
