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
        guard let buffer = request.body.data, buffer.readableBytes > 0 else {
            return JSONInput(values: [:], partial: partial)
        }
        try requireJSONContentType(request)
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView))
        } catch {
            throw APIError.parseError
        }
        guard value.depth <= maxDepth else { throw APIError.parseError }
        guard case .object(let object) = value else {
            var errors = FieldErrors()
            errors.addNonField("Datos inválidos. Se esperaba un diccionario pero es un \(value.pythonTypeName).")
            throw APIError.validation(errors)
        }
        return JSONInput(values: object, partial: partial)
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
    public mutating func string(_ key: String, required: Bool = true, allowBlank: Bool = false,
                                maxLength: Int? = nil, minLength: Int? = nil, trim: Bool = true) -> String? {
        guard let value = present(key, required: required) else { return nil }
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
    public mutating func int(_ key: String, required: Bool = true, range: ClosedRange<Int>? = nil) -> Int? {
        guard let value = present(key, required: required) else { return nil }
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
