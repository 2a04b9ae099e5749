//! The consensus core driven by a minimal in-test network (every message
//! delivered to every other core, in order) and an app that accepts every
//! block: finality, persistence ordering, restarts, and each check a
//! verifier makes failing alone.

mod common;

use aether_consensus::signing::{block_message, timeout_message};
use aether_consensus::*;
use aether_consensus::{Action, Event};
use aether_crypto::bls::{Domain, vrf_input};
use aether_types::*;
use common::{N, key, set};
use std::collections::VecDeque;

const GENESIS: BlockHash = BlockHash([0x6e; 32]);

fn config() -> Config {
    Config::new(GENESIS, Epoch(0), Digest([42; 32]))
}

fn core(i: usize, restore: Restore) -> Core {
    core_with(i, restore, VerifyMemo::new())
}

fn core_with(i: usize, restore: Restore, memo: VerifyMemo) -> Core {
    Core::new(
        config(),
        ValidatorIndex(i as u16),
        key(i),
        set(),
        memo,
        restore,
    )
    .unwrap()
}

fn header(parent: BlockHash, height: u64, consensus: ConsensusFields) -> BlockHeader {
    BlockHeader {
        version: HEADER_VERSION,
        chain_id: ChainId(9),
        height,
        timestamp_ms: height,
        parent_hash: parent,
        tx_root: Digest::default(),
        receipts_root: Digest::default(),
        state_root: Digest::default(),
        data_root: Digest::default(),
        consensus,
    }
}

/// Every core, the events in flight, and what came out.
struct Net {
    cores: Vec<Option<Core>>,
    queue: VecDeque<(usize, Event)>,
    disks: Vec<Option<SafetyState>>,
    commits: Vec<Vec<Proposal>>,
    evidence: Vec<EquivocationEvidence>,
    batches: Vec<(usize, Vec<Action>)>,
    timers: Vec<Option<Round>>,
}

impl Net {
    fn new() -> Self {
        // One memo for the in-process network: each signature is verified
        // once, not once per node.
        let memo = VerifyMemo::new();
        Net::of(
            (0..N)
                .map(|i| core_with(i, Restore::default(), memo.clone()))
                .collect(),
        )
    }

    fn of(cores: Vec<Core>) -> Self {
        let mut net = Net {
            cores: cores.into_iter().map(Some).collect(),
            queue: VecDeque::new(),
            disks: vec![None; N],
            commits: vec![Vec::new(); N],
            evidence: Vec::new(),
            batches: Vec::new(),
            timers: vec![None; N],
        };
        for i in 0..N {
            net.queue.push_back((i, Event::Start));
        }
        net
    }

    /// Processes events until the queue is empty or `limit` events ran.
    fn run(&mut self, limit: usize) {
        for _ in 0..limit {
            let Some((i, event)) = self.queue.pop_front() else {
                return;
            };
            let Some(core) = self.cores[i].as_mut() else {
                continue;
            };
            let actions = core.handle(event);
            self.batches.push((i, actions.clone()));
            for action in actions {
                self.execute(i, action);
            }
        }
    }

    fn execute(&mut self, i: usize, action: Action) {
        match action {
            Action::Persist(s) => self.disks[i] = Some(s),
            Action::Broadcast(message) => {
                for j in 0..N {
                    if j != i {
                        self.queue.push_back((
                            j,
                            Event::Message {
                                from: ValidatorIndex(i as u16),
                                message: message.clone(),
                            },
                        ));
                    }
                }
            }
            Action::ScheduleTimeout { round, .. } => self.timers[i] = Some(round),
            Action::BuildBlock {
                round,
                parent,
                height,
                consensus,
            } => self.queue.push_back((
                i,
                Event::BlockBuilt {
                    round,
                    header: header(parent, height, consensus),
                    payload: vec![i as u8],
                },
            )),
            Action::VerifyBlock { header, .. } => self.queue.push_back((
                i,
                Event::BlockVerified {
                    block: header.hash(),
                    valid: true,
                },
            )),
            Action::Commit { proposal, .. } => self.commits[i].push(proposal),
            Action::Evidence(e) => self.evidence.push(e),
            Action::Fetch { block, .. } => {
                let found = self
                    .cores
                    .iter()
                    .flatten()
                    .find_map(|c| c.pending_block(&block).cloned())
                    .or_else(|| {
                        self.commits
                            .iter()
                            .flatten()
                            .find(|p| p.block_id() == block)
                            .cloned()
                    });
                if let Some(p) = found {
                    self.queue.push_back((
                        i,
                        Event::Message {
                            from: ValidatorIndex(0),
                            message: ConsensusMsg::BlockResponse(vec![p]),
                        },
                    ));
                }
            }
        }
    }

    fn proposals(&self) -> Vec<Proposal> {
        self.batches
            .iter()
            .flat_map(|(_, a)| a)
            .filter_map(|a| match a {
                Action::Broadcast(ConsensusMsg::Proposal(p)) => Some((**p).clone()),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn four_validators_finalize_the_same_chain() {
    let mut net = Net::new();
    net.run(1_500);
    let reference: Vec<BlockHash> = net.commits[0].iter().map(Proposal::block_id).collect();
    assert!(
        reference.len() >= 10,
        "only {} blocks final",
        reference.len()
    );
    for (i, c) in net.commits.iter().enumerate() {
        let ids: Vec<BlockHash> = c.iter().map(Proposal::block_id).collect();
        let common = ids.len().min(reference.len());
        assert_eq!(ids[..common], reference[..common], "node {i} diverged");
        for (k, p) in c.iter().enumerate() {
            assert_eq!(p.header.height, k as u64 + 1, "heights in order");
        }
    }
    assert!(net.evidence.is_empty());
}

#[test]
fn a_later_epoch_builds_on_its_start_block() {
    // Epoch 3 starts from the committed block `start` at height 40.
    let start = BlockHash([0x51; 32]);
    let infos: Vec<ValidatorInfo> = (0..N)
        .map(|i| ValidatorInfo {
            public_key: BlsPublicKeyBytes(key(i).public_key().to_bytes()),
            proof_of_possession: BlsSignatureBytes(key(i).proof_of_possession().to_bytes()),
            stake: 10 + i as u64,
        })
        .collect();
    let set3 = ValidatorSet::new(Epoch(3), &infos).unwrap();
    let config = Config::new(GENESIS, Epoch(3), Digest([7; 32])).starting_at(start, 40);
    assert_eq!(config.start_qc().height, 40);
    assert_eq!(config.start_qc().block, start);
    let memo = VerifyMemo::new();
    let cores = (0..N)
        .map(|i| {
            Core::new(
                config.clone(),
                ValidatorIndex(i as u16),
                key(i),
                set3.clone(),
                memo.clone(),
                Restore::default(),
            )
            .unwrap()
        })
        .collect();
    let mut net = Net::of(cores);
    net.run(1_500);
    let chain = &net.commits[0];
    assert!(chain.len() >= 5, "only {} blocks final", chain.len());
    assert_eq!(chain[0].header.parent_hash, start);
    for (k, p) in chain.iter().enumerate() {
        assert_eq!(p.header.height, 41 + k as u64);
        assert_eq!(p.fields().unwrap().epoch, Epoch(3));
    }
    // The chain genesis is not this epoch's root: a proposal justified by
    // its QC is refused.
    let mut p = net
        .proposals()
        .into_iter()
        .find(|p| p.fields().unwrap().round == Round(1))
        .unwrap();
    fields_mut(&mut p).justify = QuorumCert::genesis(Epoch(3), GENESIS);
    p.header.parent_hash = GENESIS;
    p.header.height = 1;
    let proposer = usize::from(fields_mut(&mut p).proposer.0);
    resign(&mut p, proposer);
    let follower = (proposer + 1) % N;
    let mut fresh = Core::new(
        config,
        ValidatorIndex(follower as u16),
        key(follower),
        set3,
        VerifyMemo::new(),
        Restore::default(),
    )
    .unwrap();
    offer(&mut fresh, p);
    assert!(rejected(&fresh, Rejection::BadQuorumCert));
}

#[test]
fn persist_precedes_every_signed_message() {
    let mut net = Net::new();
    net.run(2_000);
    let mut checked = 0;
    for (_, batch) in &net.batches {
        let mut persisted: Option<&SafetyState> = None;
        for action in batch {
            match action {
                Action::Persist(s) => persisted = Some(s),
                Action::Broadcast(ConsensusMsg::Vote(v)) => {
                    let s = persisted.expect("a vote left before any persist");
                    assert!(s.last_voted_round >= v.round);
                    checked += 1;
                }
                Action::Broadcast(ConsensusMsg::Proposal(p)) => {
                    let s = persisted.expect("a proposal left before any persist");
                    assert!(s.last_proposed_round >= p.fields().unwrap().round);
                    checked += 1;
                }
                Action::Broadcast(ConsensusMsg::Timeout(t)) => {
                    let s = persisted.expect("a timeout left before any persist");
                    assert!(s.last_voted_round >= t.round);
                }
                _ => {}
            }
        }
    }
    assert!(checked > 20);
}

#[test]
fn restart_from_persisted_state_never_signs_twice() {
    let mut net = Net::new();
    net.run(400);
    // Crash node 1 and restart it from its disk.
    let disk = net.disks[1].clone().unwrap();
    let last_vote = disk.last_vote.clone().unwrap();
    let mut restarted = core(
        1,
        Restore {
            safety: Some(disk.clone()),
            committed: net.commits[1].clone(),
        },
    );
    let actions = restarted.handle(Event::Start);
    // If it restarts in the round it voted in, it re-sends that vote as is.
    for a in &actions {
        if let Action::Broadcast(ConsensusMsg::Vote(v)) = a {
            assert_eq!(v, &last_vote);
        }
    }
    // Offered the proposal of that round again, it does not vote again.
    let proposal = net
        .proposals()
        .into_iter()
        .find(|p| p.fields().unwrap().round == last_vote.round)
        .unwrap();
    let actions = restarted.handle(Event::Message {
        from: ValidatorIndex(0),
        message: ConsensusMsg::Proposal(Box::new(proposal.clone())),
    });
    for a in actions {
        if let Action::VerifyBlock { header, .. } = a {
            let again = restarted.handle(Event::BlockVerified {
                block: header.hash(),
                valid: true,
            });
            assert!(
                !again
                    .iter()
                    .any(|a| matches!(a, Action::Broadcast(ConsensusMsg::Vote(v)) if v.round <= last_vote.round)),
                "voted again in a round it had voted in"
            );
        }
    }
    assert_eq!(restarted.safety().last_voted_round, disk.last_voted_round);
}

/// A fresh follower and the proposal of round 1 made by its leader.
fn first_proposal() -> (Core, Proposal) {
    let mut net = Net::new();
    net.run(60);
    let p = net
        .proposals()
        .into_iter()
        .find(|p| p.fields().unwrap().round == Round(1))
        .unwrap();
    let leader = p.fields().unwrap().proposer;
    let follower = (0..N).find(|i| *i != usize::from(leader.0)).unwrap();
    (core(follower, Restore::default()), p)
}

fn resign(p: &mut Proposal, signer: usize) {
    let f = p.fields().unwrap().clone();
    let r = BlockRef {
        epoch: f.epoch,
        round: f.round,
        block: p.block_id(),
        height: p.header.height,
    };
    p.signature = BlsSignatureBytes(
        key(signer)
            .sign(Domain::Proposal, &block_message(&GENESIS, &r))
            .to_bytes(),
    );
}

fn fields_mut(p: &mut Proposal) -> &mut ProposalFields {
    match &mut p.header.consensus {
        ConsensusFields::HotStuff(f) => f,
        _ => unreachable!(),
    }
}

fn offer(core: &mut Core, p: Proposal) -> Vec<Action> {
    core.handle(Event::Start);
    core.handle(Event::Message {
        from: ValidatorIndex(0),
        message: ConsensusMsg::Proposal(Box::new(p)),
    })
}

fn rejected(core: &Core, why: Rejection) -> bool {
    core.rejections().get(&why).copied().unwrap_or(0) > 0
}

#[test]
fn a_valid_proposal_is_verified_then_voted() {
    let (mut follower, p) = first_proposal();
    let actions = offer(&mut follower, p.clone());
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::VerifyBlock { .. }))
    );
    let vote = follower.handle(Event::BlockVerified {
        block: p.block_id(),
        valid: true,
    });
    assert!(matches!(vote[0], Action::Persist(_)));
    assert!(
        matches!(&vote[1], Action::Broadcast(ConsensusMsg::Vote(v)) if v.block == p.block_id())
    );
}

#[test]
fn no_vote_before_the_application_verified_or_when_it_refused() {
    let (mut follower, p) = first_proposal();
    let actions = offer(&mut follower, p.clone());
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::Broadcast(ConsensusMsg::Vote(_))))
    );
    let refused = follower.handle(Event::BlockVerified {
        block: p.block_id(),
        valid: false,
    });
    assert!(refused.is_empty());
    assert!(rejected(&follower, Rejection::InvalidBlock));
}

#[test]
fn bad_proposer_signature_alone_is_refused() {
    let (mut follower, mut p) = first_proposal();
    p.signature = BlsSignatureBytes(key(0).sign(Domain::Proposal, b"other").to_bytes());
    assert!(
        offer(&mut follower, p)
            .iter()
            .all(|a| !matches!(a, Action::VerifyBlock { .. }))
    );
    assert!(rejected(&follower, Rejection::BadSignature));
}

#[test]
fn proposal_from_a_non_leader_alone_is_refused() {
    let (mut follower, mut p) = first_proposal();
    let leader = usize::from(p.fields().unwrap().proposer.0);
    let other = (leader + 1) % N;
    let f = fields_mut(&mut p);
    f.proposer = ValidatorIndex(other as u16);
    f.vrf_proof = BlsSignatureBytes(key(other).vrf_prove(&vrf_input(0, 1)).0.0.to_bytes());
    resign(&mut p, other);
    assert!(
        offer(&mut follower, p)
            .iter()
            .all(|a| !matches!(a, Action::VerifyBlock { .. }))
    );
    assert!(rejected(&follower, Rejection::NotLeader));
}

#[test]
fn bad_vrf_alone_is_refused() {
    let (mut follower, mut p) = first_proposal();
    let leader = usize::from(p.fields().unwrap().proposer.0);
    // The leader's VRF of another round.
    fields_mut(&mut p).vrf_proof =
        BlsSignatureBytes(key(leader).vrf_prove(&vrf_input(0, 2)).0.0.to_bytes());
    resign(&mut p, leader);
    assert!(
        offer(&mut follower, p)
            .iter()
            .all(|a| !matches!(a, Action::VerifyBlock { .. }))
    );
    assert!(rejected(&follower, Rejection::BadVrf));
}

#[test]
fn bad_justify_qc_alone_is_refused() {
    // A proposal of a later round whose QC signature is corrupted.
    let mut net = Net::new();
    net.run(400);
    let mut p = net
        .proposals()
        .into_iter()
        .find(|p| p.fields().unwrap().round >= Round(3))
        .unwrap();
    let proposer = usize::from(p.fields().unwrap().proposer.0);
    fields_mut(&mut p).justify.signature =
        BlsSignatureBytes(key(0).sign(Domain::Vote, b"x").to_bytes());
    resign(&mut p, proposer);
    let mut fresh = core((proposer + 1) % N, Restore::default());
    assert!(
        offer(&mut fresh, p)
            .iter()
            .all(|a| !matches!(a, Action::VerifyBlock { .. }))
    );
    assert!(rejected(&fresh, Rejection::BadQuorumCert));
    assert_eq!(fresh.round(), Round(1), "a bad QC moves nothing");
}

#[test]
fn malformed_links_and_wrong_epoch_are_refused() {
    let (follower, p) = first_proposal();
    let leader = usize::from(p.fields().unwrap().proposer.0);
    let me = usize::from(follower.me().0);
    let mut wrong_parent = p.clone();
    wrong_parent.header.parent_hash = BlockHash([1; 32]);
    resign(&mut wrong_parent, leader);
    let mut f = core(me, Restore::default());
    offer(&mut f, wrong_parent);
    assert!(rejected(&f, Rejection::Malformed));
    let mut wrong_height = p.clone();
    wrong_height.header.height = 5;
    resign(&mut wrong_height, leader);
    let mut f = core(me, Restore::default());
    offer(&mut f, wrong_height);
    assert!(rejected(&f, Rejection::Malformed));
    let mut wrong_epoch = p.clone();
    fields_mut(&mut wrong_epoch).epoch = Epoch(1);
    let mut f = core(me, Restore::default());
    offer(&mut f, wrong_epoch);
    assert!(rejected(&f, Rejection::WrongEpoch));
}

fn vote(i: usize, round: u64, block: BlockHash, height: u64) -> Vote {
    let r = BlockRef {
        epoch: Epoch(0),
        round: Round(round),
        block,
        height,
    };
    Vote {
        epoch: Epoch(0),
        round: Round(round),
        block,
        height,
        voter: ValidatorIndex(i as u16),
        signature: BlsSignatureBytes(
            key(i)
                .sign(Domain::Vote, &block_message(&GENESIS, &r))
                .to_bytes(),
        ),
    }
}

#[test]
fn a_bad_vote_signature_is_found_and_the_qc_still_forms() {
    let (mut follower, p) = first_proposal();
    let me = usize::from(follower.me().0);
    offer(&mut follower, p.clone());
    follower.handle(Event::BlockVerified {
        block: p.block_id(),
        valid: true,
    });
    let others: Vec<usize> = (0..N).filter(|i| *i != me).collect();
    // First a bad vote (claims to be from others[0]), then two good ones.
    let mut bad = vote(others[0], 1, p.block_id(), 1);
    bad.signature = BlsSignatureBytes(key(others[0]).sign(Domain::Vote, b"garbage").to_bytes());
    follower.handle(Event::Message {
        from: ValidatorIndex(0),
        message: ConsensusMsg::Vote(bad),
    });
    follower.handle(Event::Message {
        from: ValidatorIndex(0),
        message: ConsensusMsg::Vote(vote(others[1], 1, p.block_id(), 1)),
    });
    assert_eq!(
        follower.round(),
        Round(1),
        "the aggregate with the bad vote failed"
    );
    assert!(
        follower
            .bad_signers()
            .contains(&ValidatorIndex(others[0] as u16))
    );
    follower.handle(Event::Message {
        from: ValidatorIndex(0),
        message: ConsensusMsg::Vote(vote(others[2], 1, p.block_id(), 1)),
    });
    assert_eq!(
        follower.round(),
        Round(2),
        "QC of round 1 formed from the good votes"
    );
    assert_eq!(follower.safety().highest_qc.signers.count(), 3);
}

#[test]
fn two_votes_in_a_round_give_evidence_that_verifies() {
    let mut c = core(0, Restore::default());
    c.handle(Event::Start);
    c.handle(Event::Message {
        from: ValidatorIndex(2),
        message: ConsensusMsg::Vote(vote(2, 1, BlockHash([1; 32]), 1)),
    });
    let actions = c.handle(Event::Message {
        from: ValidatorIndex(2),
        message: ConsensusMsg::Vote(vote(2, 1, BlockHash([2; 32]), 1)),
    });
    let evidence = actions
        .iter()
        .find_map(|a| match a {
            Action::Evidence(e) => Some(e.clone()),
            _ => None,
        })
        .expect("evidence");
    assert_eq!(evidence.offender, ValidatorIndex(2));
    verify_evidence(&set(), &GENESIS, &evidence).unwrap();
    // Evidence checks fail alone: wrong chain, tampered signature.
    assert!(verify_evidence(&set(), &BlockHash([0; 32]), &evidence).is_err());
    let mut tampered = evidence.clone();
    tampered.second_signature = tampered.first_signature;
    assert_eq!(
        verify_evidence(&set(), &GENESIS, &tampered),
        Err(EvidenceError::BadSignature)
    );
    let mut other = evidence.clone();
    other.offender = ValidatorIndex(1);
    assert_eq!(
        verify_evidence(&set(), &GENESIS, &other),
        Err(EvidenceError::BadSignature)
    );
    // A replay of the same vote is no evidence; a forged second vote is none either.
    let again = c.handle(Event::Message {
        from: ValidatorIndex(2),
        message: ConsensusMsg::Vote(vote(2, 1, BlockHash([1; 32]), 1)),
    });
    assert!(!again.iter().any(|a| matches!(a, Action::Evidence(_))));
    let mut forged = vote(3, 1, BlockHash([4; 32]), 1);
    c.handle(Event::Message {
        from: ValidatorIndex(3),
        message: ConsensusMsg::Vote(vote(3, 1, BlockHash([3; 32]), 1)),
    });
    forged.signature = BlsSignatureBytes(key(3).sign(Domain::Vote, b"nope").to_bytes());
    let none = c.handle(Event::Message {
        from: ValidatorIndex(3),
        message: ConsensusMsg::Vote(forged),
    });
    assert!(!none.iter().any(|a| matches!(a, Action::Evidence(_))));
}

fn timeout(i: usize, round: u64, high_qc: QuorumCert) -> TimeoutMsg {
    let data = TimeoutData {
        epoch: Epoch(0),
        round: Round(round),
        high_qc_round: high_qc.round,
    };
    TimeoutMsg {
        epoch: Epoch(0),
        round: Round(round),
        high_qc,
        high_tc: None,
        sender: ValidatorIndex(i as u16),
        signature: BlsSignatureBytes(
            key(i)
                .sign(Domain::Timeout, &timeout_message(&GENESIS, &data))
                .to_bytes(),
        ),
    }
}

#[test]
fn timeouts_join_at_one_third_and_certify_at_two_thirds() {
    let genesis_qc = QuorumCert::genesis(Epoch(0), GENESIS);
    let mut c = core(0, Restore::default());
    c.handle(Event::Start);
    let one = c.handle(Event::Message {
        from: ValidatorIndex(1),
        message: ConsensusMsg::Timeout(Box::new(timeout(1, 1, genesis_qc.clone()))),
    });
    assert!(
        !one.iter()
            .any(|a| matches!(a, Action::Broadcast(ConsensusMsg::Timeout(_))))
    );
    // A second one makes more than 1/3: node 0 joins (persist first).
    let two = c.handle(Event::Message {
        from: ValidatorIndex(2),
        message: ConsensusMsg::Timeout(Box::new(timeout(2, 1, genesis_qc.clone()))),
    });
    let persist = two
        .iter()
        .position(|a| matches!(a, Action::Persist(_)))
        .unwrap();
    let sent = two
        .iter()
        .position(|a| matches!(a, Action::Broadcast(ConsensusMsg::Timeout(_))))
        .unwrap();
    assert!(persist < sent);
    // Its own + two others = 3 of 4: a TC, round 2.
    assert_eq!(c.round(), Round(2));
    assert_eq!(c.safety().highest_tc.as_ref().unwrap().round, Round(1));
    assert_eq!(
        c.safety().last_voted_round,
        Round(1),
        "no vote in a timed-out round"
    );
    // A timeout with a bad signature is refused and counts for nothing.
    let mut bad = timeout(3, 2, genesis_qc);
    bad.signature = BlsSignatureBytes(key(3).sign(Domain::Timeout, b"x").to_bytes());
    c.handle(Event::Message {
        from: ValidatorIndex(3),
        message: ConsensusMsg::Timeout(Box::new(bad)),
    });
    assert!(rejected(&c, Rejection::BadSignature));
}

#[test]
fn a_lagging_node_catches_up_from_one_timeout_message() {
    let mut net = Net::new();
    net.run(600);
    let ahead = net.cores[0].as_ref().unwrap();
    let high_qc = ahead.safety().highest_qc.clone();
    assert!(high_qc.round.0 >= 3);
    let mut lagging = core(1, Restore::default());
    lagging.handle(Event::Start);
    let actions = lagging.handle(Event::Message {
        from: ValidatorIndex(2),
        message: ConsensusMsg::Timeout(Box::new(timeout(2, high_qc.round.0 + 1, high_qc.clone()))),
    });
    assert_eq!(lagging.round(), high_qc.round.next());
    // It asks for the block it lacks, and for the ancestors it lacks too.
    let expected = (high_qc.height - 1).min(64) as u16;
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::Fetch { block, ancestors, .. } if *block == high_qc.block && *ancestors == expected
    )));
}

#[test]
fn timeouts_back_off_by_1_2_and_are_capped() {
    let mut c = config();
    c.base_timeout_ms = 1_000;
    c.max_timeout_ms = 2_000;
    assert_eq!(c.timeout_ms(0), 1_000);
    assert_eq!(c.timeout_ms(1), 1_200);
    assert_eq!(c.timeout_ms(2), 1_440);
    assert_eq!(c.timeout_ms(3), 1_728);
    assert_eq!(c.timeout_ms(4), 2_000);
    assert_eq!(c.timeout_ms(100), 2_000);
}

#[test]
fn a_crashed_leaders_rounds_time_out_and_the_others_still_finalize() {
    let mut net = Net::new();
    net.cores[3] = None;
    // Drive: run, and whenever the queue drains, fire every live timer.
    for _ in 0..40 {
        if net.commits[0].len() >= 5 && net.commits[1].len() >= 5 {
            break;
        }
        net.run(2_000);
        for i in 0..3 {
            if let Some(round) = net.timers[i] {
                net.queue.push_back((i, Event::RoundTimeout { round }));
            }
        }
    }
    assert!(net.commits[0].len() >= 5, "{} final", net.commits[0].len());
    assert_eq!(
        net.commits[0]
            .iter()
            .map(Proposal::block_id)
            .collect::<Vec<_>>()[..5],
        net.commits[1]
            .iter()
            .map(Proposal::block_id)
            .collect::<Vec<_>>()[..5]
    );
}
