import Foundation

/// One type an upload may be (SPEC §5): the media type it is stored and served with, the declared
/// types that agree with it (what browsers and systems send for it), its extensions, and the
/// content that proves it.
struct FileType: Sendable, Equatable {
    let name: String
    let mimeType: String
    let declared: Set<String>
    let extensions: Set<String>
    let family: ContentFamily
    /// For ZIP containers: the Office document the entries must make it (nil: any ZIP).
    let ooxml: OOXMLKind?

    /// The allow-list, in order of preference when the client says nothing that tells them apart.
    static let all: [FileType] = [
        FileType(name: "PDF", mimeType: "application/pdf",
                 declared: ["application/pdf", "application/x-pdf", "application/acrobat", "applications/vnd.pdf", "text/pdf", "text/x-pdf"],
                 extensions: ["pdf"], family: .pdf, ooxml: nil),
        FileType(name: "PNG", mimeType: "image/png", declared: ["image/png", "image/x-png", "image/apng"],
                 extensions: ["png"], family: .png, ooxml: nil),
        FileType(name: "JPEG", mimeType: "image/jpeg", declared: ["image/jpeg", "image/jpg", "image/pjpeg", "image/pipeg"],
                 extensions: ["jpg", "jpeg", "jpe", "jfif", "pjpeg", "pjp"], family: .jpeg, ooxml: nil),
        FileType(name: "GIF", mimeType: "image/gif", declared: ["image/gif"], extensions: ["gif"], family: .gif, ooxml: nil),
        FileType(name: "WebP", mimeType: "image/webp", declared: ["image/webp"], extensions: ["webp"], family: .webp, ooxml: nil),
        FileType(name: "Word", mimeType: OOXMLKind.word.mimeType, declared: [OOXMLKind.word.mimeType],
                 extensions: ["docx"], family: .zip, ooxml: .word),
        FileType(name: "Excel", mimeType: OOXMLKind.excel.mimeType, declared: [OOXMLKind.excel.mimeType],
                 extensions: ["xlsx"], family: .zip, ooxml: .excel),
        FileType(name: "PowerPoint", mimeType: OOXMLKind.powerpoint.mimeType, declared: [OOXMLKind.powerpoint.mimeType],
                 extensions: ["pptx"], family: .zip, ooxml: .powerpoint),
        FileType(name: "ZIP", mimeType: "application/zip",
                 declared: ["application/zip", "application/x-zip-compressed", "application/x-zip", "application/zip-compressed",
                            "multipart/x-zip"],
                 extensions: ["zip"], family: .zip, ooxml: nil),
        FileType(name: "Word 97-2003", mimeType: "application/msword", declared: ["application/msword", "application/doc"],
                 extensions: ["doc"], family: .ole, ooxml: nil),
        FileType(name: "Excel 97-2003", mimeType: "application/vnd.ms-excel",
                 declared: ["application/vnd.ms-excel", "application/msexcel", "application/x-msexcel", "application/x-excel",
                            "application/x-ms-excel", "application/xls"],
                 extensions: ["xls"], family: .ole, ooxml: nil),
        FileType(name: "PowerPoint 97-2003", mimeType: "application/vnd.ms-powerpoint",
                 declared: ["application/vnd.ms-powerpoint", "application/mspowerpoint", "application/powerpoint",
                            "application/x-mspowerpoint"],
                 extensions: ["ppt", "pps"], family: .ole, ooxml: nil),
        FileType(name: "texto", mimeType: "text/plain", declared: ["text/plain"], extensions: ["txt", "text", "log"],
                 family: .text, ooxml: nil),
        FileType(name: "CSV", mimeType: "text/csv",
                 declared: ["text/csv", "text/plain", "application/csv", "text/x-csv", "application/x-csv",
                            "text/comma-separated-values", "text/x-comma-separated-values", "application/vnd.ms-excel"],
                 extensions: ["csv"], family: .text, ooxml: nil),
        FileType(name: "Markdown", mimeType: "text/markdown", declared: ["text/markdown", "text/x-markdown", "text/plain"],
                 extensions: ["md", "markdown"], family: .text, ooxml: nil),
    ]

    /// Declared types that say nothing about the file (what browsers send for an extension they
    /// don't know, or for none): they agree with every type.
    static let genericDeclared: Set<String> = ["application/octet-stream", "binary/octet-stream", "application/unknown",
                                               "application/binary", "application/x-download", "application/force-download"]
}

/// The allowed types an upload can still be, narrowed by what the client declared (the part's
/// `Content-Type`), the file name's extension and, as the bytes arrive, their content. When no
/// type is left the upload is refused with 415, naming what disagreed.
struct FileTypeAgreement: Sendable {
    private(set) var candidates: [FileType]
    private let allowed: [FileType]
    /// Lowercased, without the dot; empty when the name has none.
    let fileExtension: String
    /// Lowercased media type without parameters; nil when absent or generic.
    let declared: String?

    init(fileName: String, declaredType: String?, families: Set<ContentFamily>) throws {
        allowed = FileType.all.filter { families.contains($0.family) }
        fileExtension = (fileName as NSString).pathExtension.lowercased()
        let declaredType = declaredType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        declared = declaredType.flatMap { $0.isEmpty || FileType.genericDeclared.contains($0) ? nil : $0 }
        candidates = allowed
        if !fileExtension.isEmpty {
            candidates = candidates.filter { $0.extensions.contains(fileExtension) }
            if candidates.isEmpty { throw refusal("La extensión «.\(fileExtension)» no es de ningún tipo permitido.") }
        }
        if let declared {
            let byDeclared = allowed.filter { $0.declared.contains(declared) }
            if byDeclared.isEmpty { throw refusal("El tipo declarado «\(declared)» no es de ningún tipo permitido.") }
            candidates = candidates.filter { byDeclared.contains($0) }
            if candidates.isEmpty {
                throw refusal("La extensión «.\(fileExtension)» y el tipo declarado «\(declared)» no son del mismo tipo permitido.")
            }
        }
    }

    /// The bytes turned out to be `family`; `markup` names HTML, SVG, XML or a script found in text.
    mutating func content(_ family: ContentFamily, markup: String? = nil) throws {
        if let markup {
            throw refusal("El contenido del archivo es \(markup), que nunca se admite" + (claims.isEmpty ? "." : " (\(claims))."))
        }
        let matching = candidates.filter { $0.family == family }
        guard !matching.isEmpty else {
            if !allowed.contains(where: { $0.family == family }) {
                throw refusal("El contenido del archivo es \(family.description), que no se admite aquí.")
            }
            throw refusal("El contenido del archivo es \(family.description)" + (claims.isEmpty ? "." : ", pero \(claims)."))
        }
        candidates = matching
    }

    /// The type the file is: a ZIP narrowed by its entries (`ooxml`), the first candidate left.
    mutating func finish(ooxml: OOXMLKind?) throws -> FileType {
        if candidates.contains(where: { $0.family == .zip }) {
            let kind = ooxml == .other ? nil : ooxml
            // An Office document is also a ZIP; a plain ZIP is never an Office document.
            let fitting = candidates.filter { $0.ooxml == nil || $0.ooxml == kind }
            guard !fitting.isEmpty else {
                let found = kind.flatMap { kind in FileType.all.first { $0.ooxml == kind } }.map { "un documento \($0.name)" }
                    ?? "un ZIP que no es un documento de Office"
                throw refusal("El contenido del archivo es \(found)" + (claims.isEmpty ? "." : ", pero \(claims)."))
            }
            candidates = fitting
            return fitting.first { $0.ooxml != nil } ?? fitting[0]
        }
        guard let type = candidates.first else { throw refusal("El archivo no es de ningún tipo permitido.") }
        return type
    }

    /// What the client said, for messages: "la extensión «.png» y el tipo declarado «image/png» indican PNG".
    private var claims: String {
        var said: [String] = []
        if !fileExtension.isEmpty { said.append("la extensión «.\(fileExtension)»") }
        if let declared { said.append("el tipo declarado «\(declared)»") }
        guard !said.isEmpty else { return "" }
        let names = candidates.map(\.name).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        return said.joined(separator: " y ") + (said.count == 1 ? " indica " : " indican ") + names.joined(separator: " o ")
    }

    private func refusal(_ detail: String) -> APIError {
        let accepted = allowed.map(\.name).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        return APIError(.unsupportedMediaType, "\(detail) Se aceptan: \(accepted.joined(separator: ", ")).", code: "unsupported_media_type")
    }
}

/// Markup and scripts that must never pass as text (SPEC §5): what a browser would sniff as HTML
/// at the start of a file (WHATWG MIME Sniffing's list), XML and SVG, and markup that runs code
/// anywhere in the first bytes.
enum MarkupSniffer {
    /// Bytes looked at: WHATWG's sniffing reads up to 1,445.
    static let headLength = 1_445

    private static let leadingTags = ["!doctype html", "html", "head", "script", "iframe", "h1", "div", "font", "table", "a",
                                      "style", "title", "b", "body", "br", "p", "!--"]
    private static let anywhere = ["<script", "<html", "<svg", "<?xml", "<!doctype", "<iframe", "<object", "<embed", "<body",
                                   "<head", "<meta http-equiv", "javascript:"]

    /// "HTML", "SVG", "XML" or "un script" when `head` (the file's first bytes) is one.
    static func detect(_ head: [UInt8]) -> String? {
        var bytes = head[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        bytes = bytes.drop { [0x09, 0x0A, 0x0C, 0x0D, 0x20].contains($0) }
        let text = String(decoding: bytes, as: UTF8.self).lowercased()
        if text.hasPrefix("#!") { return "un script" }
        if text.hasPrefix("<?php") || text.hasPrefix("<%") { return "un script" }
        if text.hasPrefix("<svg") || text.contains("<svg") { return "SVG" }
        if text.hasPrefix("<?xml") { return "XML" }
        for tag in leadingTags where text.hasPrefix("<" + tag) {
            let after = text.dropFirst(tag.count + 1).first
            if tag == "!--" || after == nil || after == " " || after == ">" || after == "\t" || after == "\n" || after == "\r" || after == "/" {
                return "HTML"
            }
        }
        if let found = anywhere.first(where: { text.contains($0) }) {
            return found == "<?xml" ? "XML" : found == "javascript:" || found == "<script" ? "un script" : "HTML"
        }
        return nil
    }
}

extension ContentFamily: CustomStringConvertible {
    /// The family as a message names it.
    public var description: String {
        switch self {
        case .pdf: "PDF"
        case .png: "PNG"
        case .jpeg: "JPEG"
        case .gif: "GIF"
        case .webp: "WebP"
        case .zip: "ZIP"
        case .ole: "un documento de Office 97-2003"
        case .text: "texto"
        }
    }
}
