import Foundation
import Vapor

/// A request's JSON object read field by field, collecting every invalid field with DRF's
/// Spanish messages before failing once (SPEC §2, §10).
public struct JSONInput {
    public let values: [String: JSONValue]
    /// A PATCH: absent fields are left alone instead of being required.
    public let partial: Bool
    public var errors = FieldErrors()

    static let maxDepth = 32

    public init(values: [String: JSONValue], partial: Bool = false) {
        self.values = values
        self.partial = partial
    }

    /// Parses the body of `request`: JSON only (415 otherwise), well formed (400 `parse_error`),
    /// bounded nesting, and an object at the top. An empty body reads as `{}`.
    public static func parse(_ request: Request, partial: Bool = false) throws -> JSONInput {
        guard (request.body.data?.readableBytes ?? 0) > 0 else { return JSONInput(values: [:], partial: partial) }
        let value = try parseValue(request)
        guard case .object(let object) = value else {
            var errors = FieldErrors()
            errors.addNonField("Datos inválidos. Se esperaba un diccionario pero es un \(value.pythonTypeName).")
            throw APIError.validation(errors)
        }
        return JSONInput(values: object, partial: partial)
    }

    /// The body as any JSON value (list payloads such as the weekly availability).
    public static func parseValue(_ request: Request) throws -> JSONValue {
        guard let buffer = request.body.data, buffer.readableBytes > 0 else { return .null }
        try requireJSONContentType(request)
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView)),
              value.depth <= maxDepth else { throw APIError.parseError }
        return value
    }

    static func requireJSONContentType(_ request: Request) throws {
        guard let type = request.headers.contentType else {
            throw APIError.unsupportedMediaType("")
        }
        let isJSON = type.type == "application" && (type.subType == "json" || type.subType.hasSuffix("+json"))
        if !isJSON {
            throw APIError.unsupportedMediaType(request.headers.first(name: .contentType) ?? type.serialize())
        }
    }

    public func has(_ key: String) -> Bool { values[key] != nil }

    /// The key is present with JSON `null` (clearing a nullable field).
    public func isNull(_ key: String) -> Bool { values[key] == .null }

    /// Throws the collected 400, if any field was invalid.
    public func finish() throws { try errors.throwIfAny() }

    /// `nil` when absent (and recorded as required when it must be there) or null.
    private mutating func present(_ key: String, required: Bool, allowNull: Bool = false) -> JSONValue? {
        guard let value = values[key] else {
            if required && !partial { errors.add(key, "Este campo es requerido.") }
            return nil
        }
        if case .null = value {
            if !allowNull { errors.add(key, "Este campo no puede ser nulo.") }
            return nil
        }
        return value
    }

    /// A CharField: strings (numbers are accepted and stringified, as DRF does), trimmed.
    public mutating func string(_ key: String, required: Bool = true, allowBlank: Bool = false, allowNull: Bool = false,
                                maxLength: Int? = nil, minLength: Int? = nil, trim: Bool = true) -> String? {
        guard let value = present(key, required: required, allowNull: allowNull) else { return nil }
        var text: String
        switch value {
        case .string(let string): text = string
        case .int(let number): text = String(number)
        case .double(let number): text = String(number)
        default:
            errors.add(key, "No es una cadena válida.")
            return nil
        }
        if trim { text = text.trimmingCharacters(in: .whitespacesAndNewlines) }
        if text.unicodeScalars.contains(where: { $0.value == 0 }) {
            errors.add(key, "Los caracteres nulos no están permitidos.")
            return nil
        }
        if text.isEmpty {
            if !allowBlank { errors.add(key, "Este campo no puede estar en blanco.") }
            return allowBlank ? "" : nil
        }
        if let maxLength, text.count > maxLength {
            errors.add(key, "Asegúrese de que este campo no tenga más de \(maxLength) caracteres.")
            return nil
        }
        if let minLength, text.count < minLength {
            errors.add(key, "Asegúrese de que este campo tenga al menos \(minLength) caracteres.")
            return nil
        }
        return text
    }

    /// An EmailField: trimmed, at most 254 characters, Django's shape check.
    public mutating func email(_ key: String, required: Bool = true) -> String? {
        guard let text = string(key, required: required, maxLength: 254) else { return nil }
        guard EmailAddress.isValid(text) else {
            errors.add(key, "Introduzca una dirección de correo electrónico válida.")
            return nil
        }
        return EmailAddress.normalize(text)
    }

    /// A BooleanField: JSON booleans plus DRF's accepted strings and 0/1.
    public mutating func bool(_ key: String, required: Bool = true) -> Bool? {
        guard let value = present(key, required: required) else { return nil }
        switch value {
        case .bool(let flag): return flag
        case .int(1): return true
        case .int(0): return false
        case .string(let text):
            if let flag = BooleanText.parse(text) { return flag }
        default: break
        }
        errors.add(key, "Debe ser un booleano válido.")
        return nil
    }

    /// An IntegerField within `range`.
    public mutating func int(_ key: String, required: Bool = true, allowNull: Bool = false,
                             range: ClosedRange<Int>? = nil) -> Int? {
        guard let value = present(key, required: required, allowNull: allowNull) else { return nil }
        let number: Int?
        switch value {
        case .int(let integer): number = Int(exactly: integer)
        case .double(let double) where double.rounded() == double && abs(double) < 9e15: number = Int(double)
        case .string(let text): number = Int(text.trimmingCharacters(in: .whitespaces))
        default: number = nil
        }
        guard let number else {
            errors.add(key, "Introduzca un número entero válido.")
            return nil
        }
        if let range {
            if number < range.lowerBound {
                errors.add(key, "Asegúrese de que este valor es mayor o igual a \(range.lowerBound).")
                return nil
            }
            if number > range.upperBound {
                errors.add(key, "Asegúrese de que este valor es menor o igual a \(range.upperBound).")
                return nil
            }
        }
        return number
    }

    /// A ChoiceField over a string enum.
    public mutating func choice<Choice: RawRepresentable & CaseIterable>(
        _ key: String, _ type: Choice.Type, required: Bool = true
    ) -> Choice? where Choice.RawValue == String {
        guard let value = present(key, required: required) else { return nil }
        let text: String
        switch value {
        case .string(let string): text = string
        case .int(let number): text = String(number)
        case .bool(let flag): text = flag ? "True" : "False"
        default: text = "\(value)"
        }
        guard let choice = Choice(rawValue: text) else {
            errors.add(key, "\"\(text.prefix(100))\" no es una elección válida.")
            return nil
        }
        return choice
    }
}

extension JSONInput {
    /// A DateField: `YYYY-MM-DD`, a real calendar date.
    public mutating func date(_ key: String, required: Bool = true, allowNull: Bool = false) -> LocalDate? {
        guard let value = present(key, required: required, allowNull: allowNull) else { return nil }
        guard case .string(let text) = value, let date = LocalDate(text) else {
            errors.add(key, LocalDate.formatError)
            return nil
        }
        return date
    }

    /// A TimeField: `HH:MM` or `HH:MM:SS`, as minutes since midnight.
    public mutating func time(_ key: String, required: Bool = true) -> TimeOfDay? {
        guard let value = present(key, required: required) else { return nil }
        guard case .string(let text) = value, let time = TimeOfDay(text) else {
            errors.add(key, TimeOfDay.formatError)
            return nil
        }
        return time
    }

    /// A DecimalField with at most `places` decimals, as hundredths (`12.5` → 1250).
    public mutating func hundredths(_ key: String, required: Bool = true, allowNull: Bool = false,
                                    range: ClosedRange<Int>) -> Int? {
        guard let value = present(key, required: required, allowNull: allowNull) else { return nil }
        let number: Double?
        switch value {
        case .int(let integer): number = Double(integer)
        case .double(let double): number = double
        case .string(let text): number = Double(text.trimmingCharacters(in: .whitespaces))
        default: number = nil
        }
        guard let number, number.isFinite, abs(number) < 1e12 else {
            errors.add(key, "Se requiere un número válido.")
            return nil
        }
        let scaled = (number * 100).rounded()
        guard abs(scaled - number * 100) < 1e-6 else {
            errors.add(key, "Asegúrese de que no haya más de 2 decimales.")
            return nil
        }
        let result = Int(scaled)
        if result < range.lowerBound {
            errors.add(key, "Asegúrese de que este valor es mayor o igual a \(Hours.format(range.lowerBound)).")
            return nil
        }
        if result > range.upperBound {
            errors.add(key, "Asegúrese de que este valor es menor o igual a \(Hours.format(range.upperBound)).")
            return nil
        }
        return result
    }

    /// A list field; each element is read by `element`, errors keyed by index as DRF nests them.
    public mutating func list(_ key: String, required: Bool = true, maxCount: Int = 1_000) -> [JSONValue]? {
        guard let value = present(key, required: required) else { return nil }
        guard case .array(let items) = value else {
            errors.add(key, "Se esperaba una lista de elementos en vez del tipo \"\(value.pythonTypeName)\".")
            return nil
        }
        guard items.count <= maxCount else {
            errors.add(key, "Asegúrese de que este campo no tenga más de \(maxCount) elementos.")
            return nil
        }
        return items
    }

    /// A list of primary keys (ids).
    public mutating func idList(_ key: String, required: Bool = true) -> [Int]? {
        guard let items = list(key, required: required) else { return nil }
        var ids: [Int] = []
        for item in items {
            switch item {
            case .int(let id) where id > 0 && id <= Int64(Int32.max): ids.append(Int(id))
            case .int, .string:
                errors.add(key, "Clave primaria \"\(Self.describe(item))\" inválida - objeto no existe.")
                return nil
            default:
                errors.add(key, "Tipo incorrecto. Se esperaba valor de clave primaria y se recibió \(item.pythonTypeName).")
                return nil
            }
        }
        var seen = Set<Int>()
        return ids.filter { seen.insert($0).inserted }
    }

    /// A primary key of a related object (existence is checked by the caller).
    public mutating func id(_ key: String, required: Bool = true, allowNull: Bool = false) -> Int? {
        guard let value = present(key, required: required, allowNull: allowNull) else { return nil }
        switch value {
        case .int(let id) where id > 0 && id <= Int64(Int32.max): return Int(id)
        case .string(let text) where Int(text).map({ $0 > 0 && $0 <= Int(Int32.max) }) == true: return Int(text)
        case .int, .string:
            errors.add(key, "Clave primaria \"\(Self.describe(value))\" inválida - objeto no existe.")
        default:
            errors.add(key, "Tipo incorrecto. Se esperaba valor de clave primaria y se recibió \(value.pythonTypeName).")
        }
        return nil
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .int(let number): String(number)
        case .string(let text): String(text.prefix(50))
        default: value.pythonTypeName
        }
    }

    /// A nested object read by its own `JSONInput`; its errors come back under `key`.
    public static func object(_ value: JSONValue) -> JSONInput? {
        if case .object(let members) = value { return JSONInput(values: members) }
        return nil
    }
}

/// DRF's accepted spellings of booleans (query parameters and form-ish bodies).
public enum BooleanText {
    public static func parse(_ text: String) -> Bool? {
        switch text.trimmingCharacters(in: .whitespaces) {
        case "true", "True", "TRUE", "1", "yes", "Yes", "on", "On", "t", "T", "y", "Y": true
        case "false", "False", "FALSE", "0", "no", "No", "off", "Off", "f", "F", "n", "N": false
        default: nil
        }
    }
}

/// Email checks shaped after Django's `EmailValidator` and `normalize_email`.
public enum EmailAddress {
    public static func isValid(_ text: String) -> Bool {
        guard text.utf8.count <= 254, !text.contains(where: { $0.isWhitespace || $0.isNewline }) else { return false }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let user = parts[0], domain = parts[1]
        guard !user.isEmpty, user.utf8.count <= 64, !domain.isEmpty else { return false }
        let userAllowed = CharacterSet(charactersIn: "!#$%&'*+-/=?^_`{|}~.")
            .union(.alphanumerics)
        guard user.unicodeScalars.allSatisfy({ userAllowed.contains($0) }),
              !user.hasPrefix("."), !user.hasSuffix("."), !user.contains("..") else { return false }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return domain == "localhost" }
        for label in labels {
            guard !label.isEmpty, label.count <= 63, !label.hasPrefix("-"), !label.hasSuffix("-"),
                  label.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || $0 == "-" })
            else { return false }
        }
        guard let tld = labels.last, tld.count >= 2, !tld.allSatisfy(\.isNumber) else { return false }
        return true
    }

    /// Django lowercases the domain part only; the local part is kept as typed.
    public static func normalize(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@") else { return text }
        return String(text[..<at]) + "@" + text[text.index(after: at)...].lowercased()
    }

    /// The key accounts are looked up and kept unique by (case-insensitive email).
    public static func lookupKey(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }
}
