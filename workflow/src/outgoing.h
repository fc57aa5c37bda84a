// The outgoing path: submissions, signing on the gateway's token and by a
// remote agent, up to the document being queued for the outbox.
#pragma once

#include "context.h"

namespace edxgate::workflow::detail {

class Outgoing {
 public:
  explicit Outgoing(Context& c) : c_(c) {}

  Result<Submitted> submit(Submission submission);
  Result<Submitted> submit_envelope(std::string file, const std::string& submitter,
                                    const std::vector<std::string>& allowed_senders,
                                    const std::string& idempotency_key);
  Result<store::State> sign(store::DocumentId id, const std::string& key_uri, const SecretString* pin,
                            const std::string& actor);
  Result<ToSign> to_sign(store::DocumentId id, const std::vector<crypto::Certificate>& certificates,
                         std::optional<crypto::SignatureAlgorithm> algorithm);
  Result<store::State> complete_signature(store::DocumentId id, const std::vector<crypto::Certificate>& certificates,
                                          std::optional<crypto::SignatureAlgorithm> algorithm,
                                          const std::vector<uint8_t>& signature, const std::string& actor);
  // Queues the documents a crash left signed but not queued.
  void requeue_signed();

 private:
  // The path of the document's unsigned envelope blob (checked against its
  // hash). Signing streams it: memory does not grow with the envelope.
  Result<std::string> unsigned_file(const store::Document& doc);
  Result<crypto::PreparedSignature> prepare_remote(store::DocumentId id,
                                                   const std::vector<crypto::Certificate>& certificates,
                                                   std::optional<crypto::SignatureAlgorithm> algorithm);
  // `how` opens the history line ("signed by <leader>", "signed by the
  // organization for <client>"); the certificate follows it.
  // `file` is the signed envelope (a scratch file the blob store links);
  // `audit_detail` is the signature's audit row, written with it.
  Result<store::State> store_signed(store::DocumentId id, const std::vector<std::string>& recipients,
                                    const std::string& file, const crypto::Verification& v, const std::string& actor,
                                    const std::string& how, const std::string& audit_detail);
  // Organization mode's submission, once its envelope is written.
  Result<Submitted> submit_for_organization(const std::string& envelope_file, const edxml::Envelope& env,
                                            store::NewDocument nd);
  Error refused_create(const Error& e, const store::NewDocument& nd);
  void log_submitted(store::DocumentId id, const std::string& submitter, bool existing);
  // Signs `unsigned_envelope` into `signed_file` on the gateway's token (the
  // self-check included); the token is released before it returns.
  Result<crypto::Verification> sign_into(const std::string& unsigned_envelope, const std::string& key_uri,
                                         const SecretString* pin, const std::string& signed_file);
  // Signs on the gateway's token, whatever the mode (callers check it).
  Result<store::State> sign_with(store::DocumentId id, const std::string& key_uri, const SecretString* pin,
                                 const std::string& actor, const std::string& how, const std::string& audit_detail);
  Result<Submitted> sign_for_organization(Submitted s, const std::string& submitter);
  Status check_policy(policy::SecurityLevel level, const edxml::MessageHeader& m, const std::string& submitter);
  Status check_unique_document_id(const std::string& sender, const std::string& document_id,
                                  const std::string& submitter, const std::string& idempotency_key,
                                  const edxml::TraceHeaderList& trace);
  Status check_same_submission(const store::NewDocument& nd, const store::Document& existing);
  void audit_refusal(const Error& e, const std::string& submitter, const std::string& what);
  // A signature that failed ("document.sign", failed); `object` names the
  // document, or the submission when no document was stored. A successful
  // one is audited by the store, with the transaction that queues it.
  void audit_failed_sign(const std::string& object, const std::string& actor, const std::string& detail);
  Context& c_;
};

}  // namespace edxgate::workflow::detail
