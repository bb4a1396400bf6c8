import Foundation
import MultipartKit
import NIOCore

/// The state of one multipart body being read: MultipartKit's parser reports headers, body
/// bytes and part ends; this routes them.
final class FormReader {
    private enum Part { case file, text(String), skip }

    private let parser: MultipartParser
    private let events = ParserEvents()
    private var framing: MultipartFraming
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
        framing = MultipartFraming(boundary: boundary)
        self.policy = policy
        self.media = media
        parser.onHeader = { [events] name, value in events.list.append(.header(name, value)) }
        parser.onBody = { [events] bytes in events.appendBody(&bytes) }
        parser.onPartComplete = { [events] in events.list.append(.partComplete) }
    }

    func consume(_ chunk: ByteBuffer) async throws {
        framing.scan(chunk)
        guard !framing.isInvalid else { throw UploadError.malformed("formato no válido.") }
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
        guard framing.isClosed, part == nil else { throw UploadError.malformed("el cuerpo está incompleto.") }
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
