import Foundation
import MultipartKit
import NIOCore
import Vapor

/// Reads a `multipart/form-data` body as it arrives (the route registers `body: .stream`): the
/// file streams into `FileSink`, small text fields into memory, anything else is dropped. The
/// byte count is what arrived, never what a header claimed; any failure leaves no file behind.
enum MultipartReceiver {
    /// Room for the multipart framing and the text fields on top of the file.
    static let overheadBytes = 256 << 10
    static let maxTextBytes = 16 << 10
    static let maxHeadersPerPart = 16

    static func receive(_ req: Request, policy: UploadPolicy) async throws -> ReceivedForm {
        let boundary = try boundary(of: req)
        let bodyLimit = policy.maxFileBytes + overheadBytes
        let announced = req.headers.first(name: .contentLength).flatMap { Int($0) }
        // Refuse before reading when the header already says it can't fit.
        if let announced, announced > bodyLimit { throw UploadError.tooLarge(policy.maxFileBytes) }
        if let remaining = policy.quotaRemaining, remaining <= 0 || (announced ?? 0) > remaining + overheadBytes {
            throw UploadError.quotaExceeded
        }
        let reader = FormReader(boundary: boundary, policy: policy, media: req.application.media)
        do {
            var received = 0
            var body = req.body.makeAsyncIterator()
            while let chunk = try await nextChunk(&body) {
                received += chunk.readableBytes
                if received > bodyLimit { throw UploadError.tooLarge(policy.maxFileBytes) }
                try await reader.consume(chunk)
            }
            // A client that goes away mid-body ends the stream early: that is a truncated body.
            if let announced, received != announced { throw UploadError.malformed("el cuerpo está incompleto.") }
            return try await reader.finish()
        } catch {
            await reader.discard()
            throw error
        }
    }

    /// The next piece of the body; the connection failing mid-body (the client went away) is a
    /// truncated upload, not a server error.
    private static func nextChunk(_ body: inout Request.Body.AsyncIterator) async throws -> ByteBuffer? {
        do {
            return try await body.next()
        } catch {
            throw UploadError.malformed("el cuerpo está incompleto.")
        }
    }

    /// The boundary of a `multipart/form-data` request; other media types are 415.
    static func boundary(of req: Request) throws -> String {
        let raw = req.headers.first(name: .contentType) ?? ""
        guard let type = req.headers.contentType, type.type == "multipart", type.subType == "form-data" else {
            throw APIError.unsupportedMediaType(raw)
        }
        guard let boundary = type.parameters["boundary"], (1...70).contains(boundary.count),
              boundary.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0 != "\u{7F}" }) else {
            throw UploadError.malformed("falta el boundary o no es válido.")
        }
        return boundary
    }
}

/// The state of one multipart body being read: MultipartKit's parser reports headers, body
/// bytes and part ends; this routes them.
final class FormReader {
    private enum Part { case file, text(String), skip }

    private let parser: MultipartParser
    private let events = ParserEvents()
    private var closing: DelimiterScanner
    private let policy: UploadPolicy
    private let media: MediaStorage
    private var headers: [(String, String)] = []
    private var part: Part?
    private var textBuffer: [UInt8] = []
    private var file: FileSink?
    private var fileSentAsText = false
    private var fields: [String: String] = [:]
    /// Input consumed with nothing to show for it (endless headers or preamble).
    private var silentBytes = 0

    init(boundary: String, policy: UploadPolicy, media: MediaStorage) {
        parser = MultipartParser(boundary: boundary)
        closing = DelimiterScanner(boundary: boundary)
        self.policy = policy
        self.media = media
        parser.onHeader = { [events] name, value in events.list.append(.header(name, value)) }
        parser.onBody = { [events] bytes in events.appendBody(&bytes) }
        parser.onPartComplete = { [events] in events.list.append(.partComplete) }
    }

    func consume(_ chunk: ByteBuffer) async throws {
        closing.scan(chunk)
        do { try parser.execute(chunk) } catch { throw UploadError.malformed("formato no válido.") }
        let drained = events.list
        events.list = []
        silentBytes = drained.isEmpty ? silentBytes + chunk.readableBytes : 0
        if silentBytes > MultipartReceiver.overheadBytes { throw UploadError.malformed("cabeceras demasiado largas.") }
        for event in drained { try await handle(event) }
    }

    private func handle(_ event: ParserEvents.Event) async throws {
        switch event {
        case .header(let name, let value):
            guard headers.count < MultipartReceiver.maxHeadersPerPart else { throw UploadError.malformed("demasiadas cabeceras.") }
            headers.append((name, value))
        case .body(let bytes):
            let current = try await currentPart()
            switch current {
            case .file: try await file?.write(bytes)
            case .text(let name):
                guard textBuffer.count + bytes.readableBytes <= MultipartReceiver.maxTextBytes else {
                    throw UploadError.field(name, "Asegúrese de que este campo no tenga más de \(MultipartReceiver.maxTextBytes) bytes.")
                }
                textBuffer.append(contentsOf: bytes.readableBytesView)
            case .skip: break
            }
        case .partComplete:
            if case .text(let name) = try await currentPart() {
                guard let text = String(validating: textBuffer, as: UTF8.self) else {
                    throw UploadError.field(name, "El texto no está codificado en UTF-8.")
                }
                fields[name] = text
            }
            part = nil
            headers = []
        }
    }

    /// The part whose headers just ended, decided on its first byte (or its end, when empty).
    private func currentPart() async throws -> Part {
        if let part { return part }
        let started = try await startPart()
        part = started
        return started
    }

    private func startPart() async throws -> Part {
        let value = headers.first { $0.0.lowercased() == "content-disposition" }?.1
        guard let value, let disposition = PartDisposition(value), let name = disposition.name else { return .skip }
        if let filename = disposition.filename {
            guard name == policy.fileField else { return .skip }
            guard file == nil else { throw UploadError.field(policy.fileField, UploadError.twoFiles) }
            file = try await FileSink(path: media.newTempPath(), originalName: filename, policy: policy)
            return .file
        }
        if name == policy.fileField {
            fileSentAsText = true
            return .skip
        }
        guard policy.textFields.contains(name) else { return .skip }
        textBuffer = []
        return .text(name)
    }

    /// The body ended: it must have ended properly, with the file the policy asks for.
    func finish() async throws -> ReceivedForm {
        guard closing.found, part == nil else { throw UploadError.malformed("el cuerpo está incompleto.") }
        // Browsers send an empty, unnamed file part for a file input left empty.
        if let file, file.size == 0, file.originalName.isEmpty {
            await file.discard()
            self.file = nil
        }
        guard let file else {
            if policy.fileRequired || fileSentAsText {
                throw UploadError.field(policy.fileField, fileSentAsText ? UploadError.notAFile : UploadError.noFile)
            }
            return ReceivedForm(file: nil, fields: fields)
        }
        guard file.size > 0 else { throw UploadError.field(policy.fileField, UploadError.emptyFile) }
        let received = try await file.finish()
        self.file = nil
        return ReceivedForm(file: received, fields: fields)
    }

    /// Drops the file being received, if any.
    func discard() async {
        await file?.discard()
        file = nil
    }
}

/// Collects the parser's synchronous callbacks; consecutive body slices merge into one buffer.
private final class ParserEvents {
    enum Event {
        case header(String, String)
        case body(ByteBuffer)
        case partComplete
    }

    var list: [Event] = []

    func appendBody(_ bytes: inout ByteBuffer) {
        if case .body(var merged)? = list.last {
            list.removeLast()
            merged.writeBuffer(&bytes)
            list.append(.body(merged))
        } else {
            list.append(.body(bytes))
        }
    }
}

/// Finds the close delimiter (`CRLF--boundary--`) across chunks: without it the body was cut short.
struct DelimiterScanner {
    private let pattern: [UInt8]
    /// As if the body began after a line break: a form with no parts is just `--boundary--`.
    private var matched = 2
    private(set) var found = false

    init(boundary: String) { pattern = Array("\r\n--\(boundary)--".utf8) }

    mutating func scan(_ buffer: ByteBuffer) {
        guard !found else { return }
        buffer.withUnsafeReadableBytes { bytes in
            var index = bytes.startIndex
            while index < bytes.endIndex {
                if matched == 0 {
                    // The pattern starts with CR, which it holds nowhere else: skip to the next one.
                    guard let next = bytes[index...].firstIndex(of: pattern[0]) else { return }
                    index = next
                }
                let byte = bytes[index]
                if byte == pattern[matched] {
                    matched += 1
                    if matched == pattern.count {
                        found = true
                        return
                    }
                } else {
                    matched = byte == pattern[0] ? 1 : 0
                }
                index += 1
            }
        }
    }
}

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
