import Foundation

/// A part's `Content-Disposition: form-data; name="…"; filename="…"` (RFC 7578), with RFC 8187
/// `filename*` preferred when present.
struct PartDisposition {
    var name: String?
    var filename: String?

    init?(_ value: String) {
        let parameters = Self.parameters(value)
        guard parameters.first?.key.lowercased() == "form-data" else { return nil }
        for (key, text) in parameters.dropFirst() {
            switch key.lowercased() {
            case "name": name = text
            case "filename": if filename == nil { filename = text }
            case "filename*": if let decoded = Self.extendedValue(text) { filename = decoded }
            default: continue
            }
        }
    }

    /// `token; key=value; key="quoted \" value"` split outside quotes; only `\"` and `\\` are
    /// escapes, so a Windows path's backslashes survive to be stripped as separators.
    static func parameters(_ value: String) -> [(key: String, value: String)] {
        var result: [(String, String)] = []
        var current = ""
        var inQuotes = false
        var escaping = false
        var pieces: [String] = []
        for character in value {
            if inQuotes {
                if escaping {
                    if character != "\"" && character != "\\" { current.append("\\") }
                    current.append(character)
                    escaping = false
                } else if character == "\\" {
                    escaping = true
                } else if character == "\"" {
                    inQuotes = false
                } else {
                    current.append(character)
                }
            } else if character == "\"" {
                inQuotes = true
            } else if character == ";" {
                pieces.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        pieces.append(current)
        for piece in pieces {
            let parts = piece.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            let text = parts.count > 1 ? String(parts[1]).trimmingCharacters(in: .whitespaces) : ""
            if !key.isEmpty { result.append((key, text)) }
        }
        return result
    }

    /// `UTF-8''caf%C3%A9.pdf` → `café.pdf`.
    static func extendedValue(_ text: String) -> String? {
        let parts = text.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].lowercased() == "utf-8" else { return nil }
        return String(parts[2]).removingPercentEncoding
    }
}
