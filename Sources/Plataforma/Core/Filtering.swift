import FluentKit
import FluentSQL
import Foundation
import SQLKit
import Vapor

/// DRF's `SearchFilter`: every term of `?search=` must match one of the fields, case-insensitively.
public enum SearchFilter {
    /// `related` adds matches outside the model's own columns (e.g. a related name through a subquery).
    @discardableResult
    public static func apply<Model: FluentKit.Model>(
        _ query: QueryBuilder<Model>, request: Request, columns: [String],
        related: [(String) -> DatabaseQuery.Filter] = []
    ) -> QueryBuilder<Model> {
        guard let raw = request.queryParameter("search") else { return query }
        let terms = raw.replacingOccurrences(of: "\0", with: "")
            .split(whereSeparator: { $0 == "," || $0.isWhitespace })
            .prefix(10)
            .map { String($0.prefix(200)) }
        for term in terms {
            let pattern = "%" + escapeLike(term.lowercased()) + "%"
            query.group(.or) { group in
                for column in columns {
                    group.filter(.sql(SQLLikeEscaped(
                        left: SQLFunction("lower", args: SQLColumn(column, table: Model.schema)),
                        pattern: pattern)))
                }
                for filter in related { group.filter(filter(term)) }
            }
        }
        return query
    }

    static func escapeLike(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
    }
}

/// `lower(col) LIKE ? ESCAPE '\\'`, the same on SQLite and PostgreSQL.
struct SQLLikeEscaped: SQLExpression {
    let left: any SQLExpression
    let pattern: String

    func serialize(to serializer: inout SQLSerializer) {
        left.serialize(to: &serializer)
        serializer.write(" LIKE ")
        SQLBind(pattern).serialize(to: &serializer)
        serializer.write(" ESCAPE '\\'")
    }
}

/// DRF's `OrderingFilter`: `?ordering=a,-b` over an allow-list; unknown fields are ignored.
public enum OrderingFilter {
    /// `fields` maps API names to the model's key paths' field keys; `fallback` applies when
    /// nothing valid was asked for. The primary key always breaks ties so pages are stable.
    @discardableResult
    public static func apply<Model: FluentKit.Model>(
        _ query: QueryBuilder<Model>, request: Request,
        fields: [String: FieldKey], fallback: [(FieldKey, DatabaseQuery.Sort.Direction)]
    ) -> QueryBuilder<Model> {
        var applied = false
        if let raw = request.queryParameter("ordering") {
            for part in raw.split(separator: ",").prefix(10) {
                let item = part.trimmingCharacters(in: .whitespaces)
                let descending = item.hasPrefix("-")
                let name = descending ? String(item.dropFirst()) : item
                guard let key = fields[name] else { continue }
                query.sort(.path([key], schema: Model.schemaOrAlias), descending ? .descending : .ascending)
                applied = true
            }
        }
        if !applied {
            for (key, direction) in fallback { query.sort(.path([key], schema: Model.schemaOrAlias), direction) }
        }
        query.sort(.path([.id], schema: Model.schemaOrAlias), .ascending)
        return query
    }
}

/// Typed query-string filters: an invalid value is a 400 naming the parameter (SPEC §10).
public struct QueryFilters {
    let request: Request
    public var errors = FieldErrors()

    public init(_ request: Request) { self.request = request }

    public func finish() throws { try errors.throwIfAny() }

    /// The non-empty value of parameter `name`. Each lookup decodes the query string, so a request
    /// without one (most of them) skips that.
    private func value(_ name: String) -> String? {
        guard let query = request.url.query, !query.isEmpty,
              let raw = request.queryParameter(name), !raw.isEmpty else { return nil }
        return raw
    }

    public mutating func bool(_ name: String) -> Bool? {
        guard let raw = value(name) else { return nil }
        guard let value = BooleanText.parse(raw) else {
            errors.add(name, "Debe ser un booleano válido.")
            return nil
        }
        return value
    }

    public mutating func date(_ name: String) -> LocalDate? {
        guard let raw = value(name) else { return nil }
        guard let value = LocalDate(raw) else {
            errors.add(name, "Introduzca una fecha válida.")
            return nil
        }
        return value
    }

    public mutating func time(_ name: String) -> TimeOfDay? {
        guard let raw = value(name) else { return nil }
        guard let value = TimeOfDay(raw) else {
            errors.add(name, "Introduzca una hora válida.")
            return nil
        }
        return value
    }

    /// A related object's id (positive, in range); anything else is a 400.
    public mutating func id(_ name: String) -> Int? {
        guard let raw = value(name) else { return nil }
        guard let value = Int(raw), value > 0, value <= Int(Int32.max) else {
            errors.add(name, "Escoja una opción válida. Esa opción no está entre las disponibles.")
            return nil
        }
        return value
    }

    /// `desde`/`hasta` as an inclusive range of at most `maxDays` days, `hasta` not before `desde`.
    /// A missing bound is required unless `defaults` supplies it.
    public mutating func dateRange(from lowerName: String = "desde", to upperName: String = "hasta", maxDays: Int,
                                   defaults: ClosedRange<LocalDate>? = nil) -> ClosedRange<LocalDate>? {
        let lower = date(lowerName) ?? (errors.has(lowerName) ? nil : defaults?.lowerBound)
        let upper = date(upperName) ?? (errors.has(upperName) ? nil : defaults?.upperBound)
        for (name, value) in [(lowerName, lower), (upperName, upper)] where value == nil && !errors.has(name) {
            errors.add(name, "Este campo es requerido.")
        }
        guard let lower, let upper else { return nil }
        guard lower <= upper else {
            errors.add(upperName, "La fecha \(upperName) no puede ser anterior a \(lowerName).")
            return nil
        }
        guard upper.dayNumber - lower.dayNumber < maxDays else {
            errors.add(upperName, "El rango de fechas no puede superar \(maxDays) días.")
            return nil
        }
        return lower...upper
    }

    /// Free text compared in SQL: NUL characters (which PostgreSQL refuses) and overlong values are 400.
    public mutating func text(_ name: String, maxLength: Int = 200) -> String? {
        guard let raw = value(name) else { return nil }
        if raw.unicodeScalars.contains("\u{0}") {
            errors.add(name, "Los caracteres nulos no están permitidos.")
            return nil
        }
        if raw.count > maxLength {
            errors.add(name, "Asegúrese de que este valor tenga como máximo \(maxLength) caracteres.")
            return nil
        }
        return raw
    }

    public mutating func int(_ name: String) -> Int? {
        guard let raw = value(name) else { return nil }
        guard let value = Int(raw) else {
            errors.add(name, "Introduzca un número entero válido.")
            return nil
        }
        return value
    }

    public mutating func choice<Choice: RawRepresentable & CaseIterable>(_ name: String, _ type: Choice.Type) -> Choice?
    where Choice.RawValue == String {
        guard let raw = value(name) else { return nil }
        guard let value = Choice(rawValue: raw) else {
            errors.add(name, "Escoja una opción válida. \(raw.prefix(100)) no es una de las opciones disponibles.")
            return nil
        }
        return value
    }
}

extension Request {
    /// Query parameter `name`, as `query[String.self, at: name]` reads it. Vapor's form decoder
    /// parses the whole query string on every lookup (a list request makes about ten); a query
    /// string of plain `key=value` pairs (no `%`, `+`, brackets, repeated or empty keys) is split
    /// once and kept, anything else is left to Vapor, so both read every query alike.
    func queryParameter(_ name: String) -> String? {
        guard let query = url.query, !query.isEmpty else { return nil }
        let plain: [String: String]?
        if let parsed = storage[PlainQueryKey.self] {
            plain = parsed
        } else {
            plain = PlainQuery.parse(query)
            storage[PlainQueryKey.self] = .some(plain)
        }
        return plain.map { $0[name] } ?? self.query[String.self, at: name]
    }
}

private struct PlainQueryKey: StorageKey {
    typealias Value = [String: String]?
}

enum PlainQuery {
    /// The pairs of a plain query string, or nil when Vapor's decoder must read it.
    static func parse(_ query: String) -> [String: String]? {
        var pairs: [String: String] = [:]
        for pair in query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false) {
            guard let equals = pair.firstIndex(of: UInt8(ascii: "=")), equals != pair.startIndex,
                  pair.lastIndex(of: UInt8(ascii: "=")) == equals else { return nil }
            for byte in pair {
                switch byte {
                case UInt8(ascii: "%"), UInt8(ascii: "+"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: ";"), UInt8(ascii: "#"):
                    return nil
                default: continue
                }
            }
            let key = String(Substring(pair[pair.startIndex..<equals]))
            let value = String(Substring(pair[pair.index(after: equals)...]))
            guard pairs.updateValue(value, forKey: key) == nil else { return nil }
        }
        return pairs
    }
}
