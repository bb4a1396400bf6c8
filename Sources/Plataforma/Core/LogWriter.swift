import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// Standard output, written in batches by a thread of its own: a request never waits for a
/// `write(2)` (or for a slow pipe to a log collector) on an event loop. Lines are appended to a
/// buffer under a lock and the writer flushes it every 20 ms, or at once when it passes 64 KiB;
/// `flush()` (called before the process exits) writes what is left.
final class LogWriter: Sendable {
    static let standardOutput = LogWriter(fileDescriptor: 1)

    private struct State {
        var pending: [UInt8] = []
        var started = false
    }

    private let fileDescriptor: Int32
    private let state = NIOLockedValueBox(State())
    private let wakeUp = ConditionLock(value: false)
    /// One writer at a time on the descriptor (the background thread, or `flush`).
    private let writing = NIOLock()
    private static let batchBytes = 64 << 10
    /// Past this much unwritten output (a stalled reader), new lines are dropped, not queued.
    private static let maxPendingBytes = 16 << 20

    init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    /// Queues one line (without its newline) for writing.
    func write(line: [UInt8]) {
        let (start, wake) = state.withLockedValue { s -> (Bool, Bool) in
            guard s.pending.count + line.count < Self.maxPendingBytes else { return (false, false) }
            s.pending.append(contentsOf: line)
            s.pending.append(0x0A)
            let start = !s.started
            s.started = true
            return (start, s.pending.count >= Self.batchBytes)
        }
        if start { startThread() }
        if wake {
            wakeUp.lock()
            wakeUp.unlock(withValue: true)
        }
    }

    /// Writes everything queued so far, on the caller's thread.
    func flush() {
        writing.withLock {
            let bytes = state.withLockedValue { s -> [UInt8] in
                let bytes = s.pending
                s.pending.removeAll(keepingCapacity: true)
                return bytes
            }
            writeAll(bytes)
        }
    }

    private func startThread() {
        let thread = Thread { [self] in
            while true {
                // Wakes when a batch is full, or after 20 ms to write whatever came.
                if wakeUp.lock(whenValue: true, timeoutSeconds: 0.02) {
                    wakeUp.unlock(withValue: false)
                }
                flush()
            }
        }
        thread.name = "plataforma-log-writer"
        thread.start()
    }

    private func writeAll(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(fileDescriptor, raw.baseAddress! + offset, raw.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0, errno == EINTR {
                    continue
                } else {
                    return  // a closed stdout: nothing else to do with the bytes
                }
            }
        }
    }
}
